package sqlstore

import "github.com/esacert/esacert/internal/cert"

// CertCommit is a certificate change this store has just committed through
// CreateCertificate, ReplaceCertificate or DeleteCertificate (the writes of
// SetCertificate and DeleteCertificate).
type CertCommit struct {
	Rev    int64             // the edge revision the change was recorded at
	SiteID int64             // the certificate's site
	ID     string            // the certificate's id
	Cert   *cert.Certificate // the certificate as written; nil when deleted
}

// OnCertificateCommit has fn told of every CertCommit, as soon as its
// transaction has committed and before the store's watchers are woken (so
// before the write's caller is answered), on the writing goroutine: fn must
// be quick and must not write to the store. A node's own edge applies its
// API's certificate changes so, without reading them back. Call it before
// the store is written to.
func (s *Store) OnCertificateCommit(fn func(CertCommit)) { s.certCommit.Store(&fn) }

// certCommitted returns what tells OnCertificateCommit's function of the
// change at *rev (when it was recorded: *rev > 0), for txThen.
func (s *Store) certCommitted(rev *int64, siteID int64, id string, c *cert.Certificate) func() {
	fn := s.certCommit.Load()
	if fn == nil {
		return nil
	}
	return func() {
		if *rev > 0 {
			(*fn)(CertCommit{Rev: *rev, SiteID: siteID, ID: id, Cert: c})
		}
	}
}
