package sqlstore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/store/sqlstore"
)

// TestOnCertificateCommit: each committed create, replace and delete of a
// certificate is told once, with the revision the feed holds it at and the
// certificate as written (none for a delete), before the write returns; a
// write that fails (a name taken, a certificate not there) is not told.
func TestOnCertificateCommit(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			ctx := t.Context()
			now := time.Now().UTC()
			s := storeWithInstance(t, db, now)
			st := site.Site{ID: 1000000000021, Name: "told.com", AccessType: "NS", Coverage: "overseas", Status: site.SiteActive,
				InstanceID: "inst", VerifyCode: "v", Created: now, Updated: now}
			if err := s.CreateSite(ctx, st); err != nil {
				t.Fatal(err)
			}
			var told []sqlstore.CertCommit
			s.OnCertificateCommit(func(c sqlstore.CertCommit) { told = append(told, c) })
			expect := func(step, id string, deleted bool) {
				t.Helper()
				changes, rev, _, err := s.Changes(ctx, 0)
				if err != nil || len(changes) == 0 {
					t.Fatalf("%s: Changes = %v, %v", step, changes, err)
				}
				if len(told) != 1 {
					t.Fatalf("%s: told %d times, want once", step, len(told))
				}
				c := told[0]
				told = nil
				last := changes[len(changes)-1]
				if c.Rev != rev || last.Rev != rev || last.Ref != id || c.ID != id || c.SiteID != st.ID {
					t.Fatalf("%s: told %+v; the feed's last change is %+v at revision %d", step, c, last, rev)
				}
				if got := c.Cert == nil; got != deleted {
					t.Fatalf("%s: told a certificate: %v, want %v", step, !got, !deleted)
				}
			}
			c := cert.Certificate{ID: "c1", SiteID: st.ID, Name: "one", Type: cert.TypeUpload, ChainPEM: "chain",
				SealedKey: []byte{1}, Created: now, Updated: now}
			c.Info.SANs = []string{"www.told.com"}
			if err := s.CreateCertificate(ctx, c, 0); err != nil {
				t.Fatal(err)
			}
			expect("create", "c1", false)
			c2 := c
			c2.ID = "c2"
			if err := s.CreateCertificate(ctx, c2, 0); !errors.Is(err, cert.ErrCertNameExists) {
				t.Fatalf("a second certificate of the same name: %v", err)
			}
			if len(told) != 0 {
				t.Fatal("a failed create was told")
			}
			c.ChainPEM, c.Info.SANs = "chain two", []string{"api.told.com"}
			if err := s.ReplaceCertificate(ctx, c); err != nil {
				t.Fatal(err)
			}
			if len(told) == 1 && (told[0].Cert.ChainPEM != "chain two" || told[0].Cert.Info.SANs[0] != "api.told.com") {
				t.Fatalf("told %+v, not the certificate as written", told[0].Cert)
			}
			expect("replace", "c1", false)
			if err := s.ReplaceCertificate(ctx, c2); !errors.Is(err, cert.ErrCertNotFound) || len(told) != 0 {
				t.Fatalf("replacing a certificate that is not there: %v, told %d times", err, len(told))
			}
			if err := s.DeleteCertificate(ctx, st.ID, "c1"); err != nil {
				t.Fatal(err)
			}
			expect("delete", "c1", true)
			if err := s.DeleteCertificate(ctx, st.ID, "c1"); !errors.Is(err, cert.ErrCertNotFound) || len(told) != 0 {
				t.Fatalf("deleting it again: %v, told %d times", err, len(told))
			}
		})
	}
}
