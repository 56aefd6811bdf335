package node

import (
	"context"
	"net/http"
	"net/netip"
	"time"

	"github.com/esacert/esacert/internal/config"
	"github.com/esacert/esacert/internal/edge"
	"github.com/esacert/esacert/internal/ocsp"
	"github.com/esacert/esacert/internal/origin"
	"github.com/esacert/esacert/internal/store/sqlstore"
)

var _ edge.StapleSource = edgeSource{}

// Staples gives the edge the OCSP responses saved after revision after.
func (s edgeSource) Staples(ctx context.Context, after int64) ([]edge.Staple, int64, error) {
	store := s.n.db.Load()
	if store == nil {
		return nil, after, errNoDatabase
	}
	list, rev, err := store.OCSPResponses(ctx, after)
	if err != nil {
		s.failed(err)
		return nil, after, err
	}
	out := make([]edge.Staple, len(list))
	for i, r := range list {
		out[i] = edge.Staple{CertificateID: r.CertificateID, Fingerprint: r.Fingerprint, Status: r.Status,
			Response: r.Response, ThisUpdate: r.ThisUpdate, NextUpdate: r.NextUpdate, Error: r.Error}
	}
	return out, rev, nil
}

// refreshOCSP runs the OCSP fetcher (ocsp.Refresher) on the nodes with the
// renewer role: responses are fetched for every certificate that names a
// responder, so that turning OcspStapling on staples at once.
func (n *Node) refreshOCSP(ctx context.Context, cfg config.Config, store *sqlstore.Store) {
	r := &ocsp.Refresher{Store: store, Log: n.log.With("component", "ocsp"), Client: responderClient(cfg, n.listeners())}
	if store.Dialect() == sqlstore.SQLite {
		// Reading every certificate takes seconds per 100,000 on SQLite
		// (the rows are wide and read whole), and a rolling upgrade, nodes
		// of two versions writing at once, is a fleet's, on PostgreSQL: the
		// run at start is enough there.
		r.CatchUpFull = -1
	}
	poll := config.Duration(cfg.OCSPPoll)
	n.log.Info("OCSP fetcher started", "poll", poll.String())
	r.Run(ctx, poll)
}

// responderClient is the HTTP client the fetcher asks responders with. A
// responder's address comes from a certificate a user uploaded, so it is
// reached as origins are: through the origin policy (public addresses, and
// the private ranges the operator allows; never the node's own listeners),
// with no proxy and no redirect followed, and bounded in time.
func responderClient(cfg config.Config, own []netip.AddrPort) *http.Client {
	dialer := &origin.Dialer{Policy: origin.Policy{Allow: cfg.PrivateOriginRanges(), Own: own}}
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{Proxy: nil, DialContext: dialer.DialContext, MaxIdleConns: 16,
			IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: 10 * time.Second},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
