package node

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/pkitest"
)

// resumeVisit connects to addr for name with cfg's session cache, sends a
// request (so that a TLS 1.3 ticket arrives) and reports whether the
// session was resumed.
func resumeVisit(addr, name string, cfg *tls.Config) (bool, error) {
	c := cfg.Clone()
	c.ServerName, c.InsecureSkipVerify = name, true
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr, c)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: "+name+"\r\nConnection: close\r\n\r\n"); err != nil {
		return false, err
	}
	if _, err := io.ReadAll(conn); err != nil {
		return false, err
	}
	return conn.ConnectionState().DidResume, nil
}

// TestResumptionAcrossTheFleet: two nodes on one database (a SQLite file,
// and PostgreSQL with ESACERT_TEST_POSTGRES_DSN) share the ticket keys: a
// session made on one resumes on the other. Once the certificate is
// deleted, neither node resumes it within a second.
func TestResumptionAcrossTheFleet(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			a, b := startTwoNodes(t, db, "cd")
			defer stop(t, a)
			defer b.Shutdown(context.Background())

			now := time.Now()
			ca := pkitest.NewCA(t, "Resume Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
			leaf := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.resume.com"}, NotBefore: now.Add(-time.Hour),
				NotAfter: now.Add(60 * 24 * time.Hour)})
			s := call(t, a, "2024-09-10", "CreateSite", map[string]string{"SiteName": "resume.com"})
			siteID := jsonNumber(s["SiteId"])
			id := call(t, a, "2024-09-10", "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload",
				"Certificate": leaf.ChainPEM, "PrivateKey": leaf.KeyPEM})["Id"].(string)
			for _, n := range []*Node{a, b} {
				if !poll(5*time.Second, func() bool { return servedLeaf(n.HTTPSAddr(), "www.resume.com") != nil }) {
					t.Fatal("the certificate is not served by both nodes")
				}
			}
			for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
				cfg := &tls.Config{MinVersion: v, MaxVersion: v, ClientSessionCache: tls.NewLRUClientSessionCache(4)}
				if resumed, err := resumeVisit(a.HTTPSAddr(), "www.resume.com", cfg); err != nil || resumed {
					t.Fatalf("%s first visit: resumed %v, %v", tls.VersionName(v), resumed, err)
				}
				if resumed, err := resumeVisit(b.HTTPSAddr(), "www.resume.com", cfg); err != nil || !resumed {
					t.Fatalf("%s on the other node: resumed %v, %v; want a resumption", tls.VersionName(v), resumed, err)
				}
				if resumed, err := resumeVisit(a.HTTPSAddr(), "www.resume.com", cfg); err != nil || !resumed {
					t.Fatalf("%s back on the first node: resumed %v, %v; want a resumption", tls.VersionName(v), resumed, err)
				}
			}
			cfgs := map[*Node]*tls.Config{}
			for _, n := range []*Node{a, b} {
				cfgs[n] = &tls.Config{ClientSessionCache: tls.NewLRUClientSessionCache(4)}
				resumeVisit(n.HTTPSAddr(), "www.resume.com", cfgs[n])
				if resumed, err := resumeVisit(n.HTTPSAddr(), "www.resume.com", cfgs[n]); err != nil || !resumed {
					t.Fatalf("before the deletion: resumed %v, %v", resumed, err)
				}
			}
			call(t, a, "2024-09-10", "DeleteCertificate", map[string]string{"SiteId": siteID, "Id": id})
			deleted := time.Now()
			for _, n := range []*Node{a, b} {
				for {
					resumed, err := resumeVisit(n.HTTPSAddr(), "www.resume.com", cfgs[n])
					if err != nil && !resumed {
						break
					}
					if time.Since(deleted) > time.Second {
						t.Fatalf("a node still resumes a session of the deleted certificate %v after the deletion", time.Since(deleted))
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
			t.Logf("both nodes refuse the deleted certificate's sessions %v after the API's answer", time.Since(deleted))
		})
	}
}
