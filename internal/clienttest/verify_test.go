package clienttest

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/esacert/esacert/internal/config"
	"github.com/esacert/esacert/internal/pkitest"
)

// zone is a small authoritative DNS server on loopback whose TXT and NS
// records a test changes as it goes.
type zone struct {
	mu  sync.Mutex
	txt map[string][]string // fqdn → values
	ns  map[string][]string // fqdn → name servers
}

func startZone(t *testing.T) (*zone, string) {
	t.Helper()
	z := &zone{txt: map[string][]string{}, ns: map[string][]string{}}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		m.Authoritative = true
		z.mu.Lock()
		defer z.mu.Unlock()
		for _, qu := range q.Question {
			name := strings.ToLower(qu.Name)
			hdr := dns.RR_Header{Name: qu.Name, Class: dns.ClassINET, Ttl: 5}
			switch qu.Qtype {
			case dns.TypeTXT:
				for _, v := range z.txt[name] {
					hdr.Rrtype = dns.TypeTXT
					m.Answer = append(m.Answer, &dns.TXT{Hdr: hdr, Txt: []string{v}})
				}
			case dns.TypeNS:
				for _, v := range z.ns[name] {
					hdr.Rrtype = dns.TypeNS
					m.Answer = append(m.Answer, &dns.NS{Hdr: hdr, Ns: dns.Fqdn(v)})
				}
			}
		}
		if len(m.Answer) == 0 {
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return z, pc.LocalAddr().String()
}

func (z *zone) set(records map[string][]string, fqdn string, values ...string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	records[dns.Fqdn(fqdn)] = values
}

// TestVerifySiteActivatesPendingSites: with ownership verification on, new
// sites start pending and are not served; VerifySite fails until the proof
// is in DNS (the VerifyCode in _esaauth.<site> for a CNAME site, the
// delegation to the assigned name servers for an NS site), then passes, the
// site is active, and the edge serves the certificate set while it was
// pending.
func TestVerifySiteActivatesPendingSites(t *testing.T) {
	z, resolverAddr := startZone(t)
	n := startNodeWith(t, func(cfg *config.Config) {
		cfg.VerifySiteOwnership = true
		cfg.NameServers = "ns1.esacert.test,ns2.esacert.test"
		cfg.VerifyResolvers = resolverAddr
	})
	c := teaKind(false).make(t, n.addr, n.key, false)
	now := time.Now()
	ca := pkitest.NewCA(t, "Verify Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))

	cnameSite := mustOK(t, c, "CreateSite", map[string]string{"SiteName": "verify-cname.com", "AccessType": "CNAME"})
	id, code := str(cnameSite["SiteId"]), str(cnameSite["VerifyCode"])
	leaf := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.verify-cname.com"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
	mustOK(t, c, "SetCertificate", map[string]string{"SiteId": id, "Type": "upload", "Certificate": leaf.ChainPEM, "PrivateKey": leaf.KeyPEM})
	status := func(id string) string {
		return str(dig(mustOK(t, c, "GetSite", map[string]string{"SiteId": id}), "SiteModel.Status"))
	}
	verify := func(id string) string {
		return str(mustOK(t, c, "VerifySite", map[string]string{"SiteId": id})["Passed"])
	}
	if s := status(id); s != "pending" {
		t.Fatalf("a new site is %s, want pending", s)
	}
	if got := served(n.node.HTTPSAddr(), "www.verify-cname.com"); got != "" {
		t.Fatal("the edge serves a pending site")
	}
	if p := verify(id); p != "false" {
		t.Fatalf("VerifySite without the TXT record: Passed %s", p)
	}
	z.set(z.txt, "_esaauth.verify-cname.com", "verify_not-the-code")
	if p := verify(id); p != "false" {
		t.Fatalf("VerifySite with another code: Passed %s", p)
	}
	z.set(z.txt, "_esaauth.verify-cname.com", "unrelated", code)
	if p := verify(id); p != "true" {
		t.Fatalf("VerifySite with the code: Passed %s", p)
	}
	if s := status(id); s != "active" {
		t.Fatalf("a verified site is %s, want active", s)
	}
	if _, ok := within(time.Second, func() bool { return served(n.node.HTTPSAddr(), "www.verify-cname.com") == fingerprint(leaf.Cert.Raw) }); !ok {
		t.Error("the edge does not serve the verified site within a second")
	}
	if p := verify(id); p != "true" {
		t.Errorf("VerifySite of an active site: Passed %s", p)
	}

	nsID := str(mustOK(t, c, "CreateSite", map[string]string{"SiteName": "verify-ns.com", "AccessType": "NS"})["SiteId"])
	z.set(z.ns, "verify-ns.com", "ns1.esacert.test", "ns.other-provider.net")
	if p := verify(nsID); p != "false" {
		t.Fatalf("VerifySite of a site still delegated elsewhere too: Passed %s", p)
	}
	z.set(z.ns, "verify-ns.com", "NS1.esacert.test.", "ns2.esacert.test")
	if p := verify(nsID); p != "true" || status(nsID) != "active" {
		t.Fatalf("VerifySite of a site delegated to the assigned servers: Passed %s, status %s", p, status(nsID))
	}
	mustFail(t, c, "VerifySite", map[string]string{"SiteId": "1"}, 404, "SiteNotFound")
}

// TestVerifySiteResolverFailover: with a resolver that never answers listed
// first, VerifySite still gets its answer from the next one.
func TestVerifySiteResolverFailover(t *testing.T) {
	z, good := startZone(t)
	silent, err := net.ListenPacket("udp", "127.0.0.1:0") // takes queries, never answers
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	n := startNodeWith(t, func(cfg *config.Config) {
		cfg.VerifySiteOwnership = true
		cfg.VerifyResolvers = silent.LocalAddr().String() + "," + good
	})
	c := teaKind(false).make(t, n.addr, n.key, false)
	created := mustOK(t, c, "CreateSite", map[string]string{"SiteName": "verify-failover.com", "AccessType": "CNAME"})
	z.set(z.txt, "_esaauth.verify-failover.com", str(created["VerifyCode"]))
	if p := str(mustOK(t, c, "VerifySite", map[string]string{"SiteId": str(created["SiteId"])})["Passed"]); p != "true" {
		t.Fatalf("VerifySite with a silent first resolver: Passed %s", p)
	}
}

// TestBackgroundVerification: nobody calls VerifySite. A new site is pending;
// once its proof is in DNS, the node's own checks find it and the site
// becomes active. With the default setting the edge serves the pending site
// from the start; with --verify-site-ownership only once it is active.
func TestBackgroundVerification(t *testing.T) {
	for _, requireVerified := range []bool{false, true} {
		t.Run(fmt.Sprintf("verify_site_ownership=%v", requireVerified), func(t *testing.T) {
			z, resolverAddr := startZone(t)
			n := startNodeWith(t, func(cfg *config.Config) {
				cfg.VerifySiteOwnership = requireVerified
				cfg.NameServers = "ns1.esacert.test,ns2.esacert.test"
				cfg.VerifyResolvers = resolverAddr
				cfg.SiteVerifyInterval = "1s" // the shortest the config takes
			})
			c := teaKind(false).make(t, n.addr, n.key, false)
			now := time.Now()
			ca := pkitest.NewCA(t, "Background Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
			status := func(id string) string {
				return str(dig(mustOK(t, c, "GetSite", map[string]string{"SiteId": id}), "SiteModel.Status"))
			}

			created := mustOK(t, c, "CreateSite", map[string]string{"SiteName": "background.com", "AccessType": "CNAME"})
			id := str(created["SiteId"])
			leaf := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.background.com"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
			mustOK(t, c, "SetCertificate", map[string]string{"SiteId": id, "Type": "upload", "Certificate": leaf.ChainPEM, "PrivateKey": leaf.KeyPEM})
			if s := status(id); s != "pending" {
				t.Fatalf("a new site is %s, want pending", s)
			}
			want := fingerprint(leaf.Cert.Raw)
			if requireVerified {
				if got := served(n.node.HTTPSAddr(), "www.background.com"); got != "" {
					t.Fatal("the edge serves a pending site under --verify-site-ownership")
				}
			} else if _, ok := within(2*time.Second, func() bool { return served(n.node.HTTPSAddr(), "www.background.com") == want }); !ok {
				t.Fatal("the edge does not serve a pending site by default")
			}
			time.Sleep(300 * time.Millisecond) // a few background checks fail meanwhile
			if s := status(id); s != "pending" {
				t.Fatalf("without the proof the site became %s", s)
			}

			z.set(z.txt, "_esaauth.background.com", str(created["VerifyCode"]))
			if _, ok := within(10*time.Second, func() bool { return status(id) == "active" }); !ok {
				t.Fatal("the background checks did not activate the site within 10 seconds of its proof")
			}
			if _, ok := within(2*time.Second, func() bool { return served(n.node.HTTPSAddr(), "www.background.com") == want }); !ok {
				t.Error("the edge does not serve the site once it is active")
			}

			ns := str(mustOK(t, c, "CreateSite", map[string]string{"SiteName": "background-ns.com", "AccessType": "NS"})["SiteId"])
			z.set(z.ns, "background-ns.com", "ns1.esacert.test", "ns2.esacert.test")
			if _, ok := within(10*time.Second, func() bool { return status(ns) == "active" }); !ok {
				t.Fatal("the background checks did not activate a delegated NS site within 10 seconds")
			}
		})
	}
}
