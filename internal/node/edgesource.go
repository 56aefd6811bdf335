package node

import (
	"context"

	"github.com/esacert/esacert/internal/edge"
)

// edgeSource is the edge's view of the node's store, which fails until the
// database is reached.
type edgeSource struct {
	n *Node
}

var _ edge.Source = edgeSource{}

func (s edgeSource) Changes(ctx context.Context, since int64) ([]int64, int64, bool, error) {
	store := s.n.db.Load()
	if store == nil {
		return nil, 0, false, errNoDatabase
	}
	return store.ChangedSites(ctx, since)
}

func (s edgeSource) Load(ctx context.Context, siteIDs []int64) ([]edge.SiteState, int64, error) {
	store := s.n.db.Load()
	if store == nil {
		return nil, 0, errNoDatabase
	}
	st, err := store.LoadEdge(ctx, siteIDs)
	if err != nil {
		return nil, 0, err
	}
	states := edge.States(siteIDs, st.Sites, st.Certificates, st.Records, st.HTTPS)
	for i := range states {
		states[i].Settings = st.Settings[states[i].ID] // absent: served as before settings existed
	}
	return states, st.Rev, nil
}
