package edge

import (
	"hash/maphash"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/certcheck"
)

// FuzzMatchName checks the index's name matching against a plain
// reading of the rule: lowercase, one trailing dot dropped, then the exact
// name, else the wildcard one label up (never two), for names of the site
// only.
func FuzzMatchName(f *testing.F) {
	names := []string{"example.com", "www.example.com", "*.example.com", "*.api.example.com", "a.b.example.com",
		"xn--fiqs8s.example.com", "*.other.org"}
	for _, s := range []string{"www.example.com", "WWW.EXAMPLE.COM.", "x.api.example.com", "a.b.c.example.com",
		".example.com", "example.com..", "*.example.com", "", ".", "a..example.com", "x.other.org", "ß.example.com"} {
		f.Add(s)
	}
	c := cert.Certificate{ID: "c", ChainPEM: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
		SealedKey: []byte{1}, Info: certInfo(names)}
	ix := load(maphash.MakeSeed(), []SiteState{{ID: 1, Site: &cert.Site{ID: 1, Name: "example.com", Status: cert.SiteActive},
		Certificates: []cert.Certificate{c}, Policy: DefaultSitePolicy()}}, 1, time.Now())
	f.Fuzz(func(t *testing.T, host string) {
		h := normalize(host)
		exact, wild := ix.lookup(h)
		wantExact := false
		wantWild := false
		for _, n := range names {
			if !underSite(n, "example.com") {
				continue
			}
			if n == h && !strings.HasPrefix(n, "*.") { // wildcard names are never exact keys
				wantExact = true
			}
			if p := parent(h); p != "" && n == "*."+p {
				wantWild = true
			}
		}
		if (len(exact) > 0) != wantExact || (len(wild) > 0) != wantWild {
			t.Fatalf("lookup(%q → %q) = exact %v wild %v, want %v %v", host, h, len(exact) > 0, len(wild) > 0, wantExact, wantWild)
		}
		if strings.IndexFunc(h, func(r rune) bool { return r >= 'A' && r <= 'Z' }) >= 0 {
			t.Fatalf("normalize(%q) = %q kept ASCII upper case", host, h)
		}
	})
}

func certInfo(names []string) (info certcheck.Info) {
	info.SANs = names
	info.NotAfter = time.Now().Add(time.Hour)
	return info
}
