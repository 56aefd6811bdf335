package edge

import (
	"hash/maphash"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/site"
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
	ix := load(maphash.MakeSeed(), []SiteState{{ID: 1, Site: &site.Site{ID: 1, Name: "example.com", Status: site.SiteActive},
		Certificates: []cert.Certificate{c}, Policy: DefaultSitePolicy()}}, 1, time.Now(), false)
	// The oracle, written from the rule rather than from the index's code:
	// the names of example.com's certificate that are under example.com.
	exactNames := map[string]bool{"example.com": true, "www.example.com": true, "a.b.example.com": true,
		"xn--fiqs8s.example.com": true}
	wildParents := map[string]bool{"example.com": true, "api.example.com": true} // *.other.org is another site's
	f.Fuzz(func(t *testing.T, host string) {
		want := []byte(host)
		if len(want) > 0 && want[len(want)-1] == '.' {
			want = want[:len(want)-1]
		}
		for i, c := range want {
			if 'A' <= c && c <= 'Z' {
				want[i] = c + ('a' - 'A')
			}
		}
		h := string(want)
		wantExact := exactNames[h]
		wantWild := false
		if dot := strings.IndexByte(h, '.'); dot > 0 {
			wantWild = wildParents[h[dot+1:]]
		}
		got := normalize(host)
		if got != h {
			t.Fatalf("normalize(%q) = %q, want %q", host, got, h)
		}
		exact, wild := ix.lookupExact(got), ix.lookupWild(got)
		if (len(exact) > 0) != wantExact || (len(wild) > 0) != wantWild {
			t.Fatalf("lookup(%q) = exact %v wild %v, want %v %v", got, len(exact) > 0, len(wild) > 0, wantExact, wantWild)
		}
	})
}

func certInfo(names []string) (info certcheck.Info) {
	info.SANs = names
	info.NotAfter = time.Now().Add(time.Hour)
	return info
}
