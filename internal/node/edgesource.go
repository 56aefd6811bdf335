package node

import (
	"context"
	"errors"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/clientcert"
	"github.com/esacert/esacert/internal/edge"
	"github.com/esacert/esacert/internal/metrics"
	"github.com/esacert/esacert/internal/origincert"
	"github.com/esacert/esacert/internal/store/sqlstore"
)

// edgeSource is the edge's view of the node's store, which fails until the
// database is reached.
type edgeSource struct {
	n *Node
}

var _ edge.Source = edgeSource{}

func (s edgeSource) Changes(ctx context.Context, since int64) ([]edge.Change, int64, bool, error) {
	store := s.n.db.Load()
	if store == nil {
		return nil, 0, false, errNoDatabase
	}
	changes, rev, complete, err := store.Changes(ctx, since)
	s.failed(err)
	if err != nil || !complete {
		return nil, rev, complete, err
	}
	out := make([]edge.Change, len(changes))
	for i, c := range changes {
		out[i].SiteID = c.SiteID
		if c.Kind == sqlstore.ChangeCertificate { // one certificate: the edge reloads just it
			out[i].CertificateID = c.Ref
		}
	}
	return out, rev, true, nil
}

// LoadCertificates reads the certificates whose only changes the edge
// applies one by one.
func (s edgeSource) LoadCertificates(ctx context.Context, ids []string) ([]cert.Certificate, error) {
	store := s.n.db.Load()
	if store == nil {
		return nil, errNoDatabase
	}
	certs, err := store.LoadEdgeCertificates(ctx, ids)
	s.failed(err)
	return certs, err
}

func (s edgeSource) Load(ctx context.Context, siteIDs []int64) ([]edge.SiteState, int64, error) {
	store := s.n.db.Load()
	if store == nil {
		return nil, 0, errNoDatabase
	}
	st, err := store.LoadEdge(ctx, siteIDs)
	if err != nil {
		s.failed(err)
		return nil, 0, err
	}
	states := edge.States(siteIDs, st.Sites, st.Certificates, st.Records, st.HTTPS)
	cas := map[int64][]origincert.CA{}
	for _, c := range st.OriginCAs {
		cas[c.SiteID] = append(cas[c.SiteID], c)
	}
	clients := map[int64][]origincert.Client{}
	for _, c := range st.OriginClients {
		clients[c.SiteID] = append(clients[c.SiteID], c)
	}
	for i := range states {
		id := states[i].ID
		states[i].Settings = st.Settings[id] // absent: served as before settings existed
		states[i].OriginCAs, states[i].OriginClients = cas[id], clients[id]
		var issuer *clientcert.Issuer
		if is, ok := st.ClientAuth.Issuers[id]; ok {
			issuer = &is
		}
		states[i].ClientCAs = edge.ClientCAs(st.ClientAuth.CAs[id], issuer, st.ClientAuth.Active[id])
	}
	return states, st.Rev, nil
}

// failed counts a failed read of the database (not one the edge gave up
// because it is stopping).
func (s edgeSource) failed(err error) {
	if err != nil && s.n.metrics != nil && !errors.Is(err, context.Canceled) {
		s.n.metrics.DBError(metrics.DBErrorEdge)
	}
}
