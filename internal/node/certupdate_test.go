package node

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/pkitest"
)

// TestCertificateUpdatesAcrossTheFleet: through the API of one node,
// certificates of a site are added, replaced (for more names) and deleted;
// the edge of that node and of a second node on the same database serve
// each change (the edges apply such changes one certificate at a time):
// the replacement for its names, a deleted certificate's name from the
// wildcard that still covers it, nothing once the wildcard is deleted too.
func TestCertificateUpdatesAcrossTheFleet(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			a, b := startTwoNodes(t, db, "ef")
			defer stop(t, a)
			defer b.Shutdown(context.Background())

			now := time.Now()
			ca := pkitest.NewCA(t, "Update Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
			leaf := func(names ...string) *pkitest.Leaf {
				return ca.Leaf(t, pkitest.LeafOptions{DNSNames: names, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
			}
			siteID := jsonNumber(call(t, a, "2024-09-10", "CreateSite", map[string]string{"SiteName": "update.com"})["SiteId"])
			set := func(l *pkitest.Leaf, id string) string {
				q := map[string]string{"SiteId": siteID, "Type": "upload", "Certificate": l.ChainPEM, "PrivateKey": l.KeyPEM}
				if id != "" {
					q["Id"], q["Update"] = id, "true"
				}
				return call(t, a, "2024-09-10", "SetCertificate", q)["Id"].(string)
			}
			// waitServed waits until both edges serve want (nil: nothing) for host.
			waitServed := func(step, host string, want *pkitest.Leaf) {
				t.Helper()
				for _, n := range []*Node{a, b} {
					deadline := time.Now().Add(5 * time.Second)
					for {
						got := servedLeaf(n.HTTPSAddr(), host)
						if want == nil && got == nil || want != nil && bytes.Equal(got, want.Cert.Raw) {
							break
						}
						if time.Now().After(deadline) {
							t.Fatalf("%s: the edge at %s does not serve what it should for %s", step, n.HTTPSAddr(), host)
						}
						time.Sleep(20 * time.Millisecond)
					}
				}
			}
			www, api, wild := leaf("www.update.com"), leaf("api.update.com"), leaf("*.update.com")
			wwwID, apiID, wildID := set(www, ""), set(api, ""), set(wild, "")
			waitServed("added", "www.update.com", www)
			waitServed("added", "api.update.com", api)
			waitServed("added", "shop.update.com", wild)

			www2 := leaf("www.update.com", "new.update.com")
			if id := set(www2, wwwID); id != wwwID {
				t.Fatalf("the replacement got id %s, want %s", id, wwwID)
			}
			waitServed("replaced", "www.update.com", www2)
			waitServed("replaced", "new.update.com", www2)

			call(t, a, "2024-09-10", "DeleteCertificate", map[string]string{"SiteId": siteID, "Id": apiID})
			waitServed("deleted", "api.update.com", wild)
			waitServed("deleted", "www.update.com", www2)

			call(t, a, "2024-09-10", "DeleteCertificate", map[string]string{"SiteId": siteID, "Id": wildID})
			waitServed("wildcard deleted", "api.update.com", nil)
			waitServed("wildcard deleted", "shop.update.com", nil)
			waitServed("wildcard deleted", "new.update.com", www2)
		})
	}
}

// TestAPINodeServesItsWrites: the edge of the node whose API took a
// SetCertificate or DeleteCertificate serves the change when the API
// answers, without waiting for it to come back through the database's
// change feed.
func TestAPINodeServesItsWrites(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			a, err := Start(t.Context(), dbConfig(t, db, "e7"), quiet)
			if err != nil {
				t.Fatal(err)
			}
			defer stop(t, a)
			now := time.Now()
			ca := pkitest.NewCA(t, "Own Writes Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
			leaf := func(names ...string) *pkitest.Leaf {
				return ca.Leaf(t, pkitest.LeafOptions{DNSNames: names, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
			}
			siteID := jsonNumber(call(t, a, "2024-09-10", "CreateSite", map[string]string{"SiteName": "own.com"})["SiteId"])
			// The site itself comes through the feed: wait for the edge to
			// hold the database's revision.
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				rev, err := a.db.Load().Revision(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if a.edge.Index().Revision() >= rev {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the edge does not catch up with the database")
				}
			}
			served := func(step, host string, want *pkitest.Leaf) {
				t.Helper()
				got := servedLeaf(a.HTTPSAddr(), host)
				if want == nil && got != nil || want != nil && !bytes.Equal(got, want.Cert.Raw) {
					t.Fatalf("%s: when the API answered, its edge did not serve what it should for %s", step, host)
				}
			}
			www := leaf("www.own.com")
			id := call(t, a, "2024-09-10", "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload",
				"Certificate": www.ChainPEM, "PrivateKey": www.KeyPEM})["Id"].(string)
			served("added", "www.own.com", www)
			www2 := leaf("www.own.com")
			call(t, a, "2024-09-10", "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload", "Id": id,
				"Update": "true", "Certificate": www2.ChainPEM, "PrivateKey": www2.KeyPEM})
			served("replaced", "www.own.com", www2)
			call(t, a, "2024-09-10", "DeleteCertificate", map[string]string{"SiteId": siteID, "Id": id})
			served("deleted", "www.own.com", nil)
		})
	}
}
