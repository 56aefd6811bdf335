package node

import (
	"context"
	"net"
	"net/netip"
	"strconv"

	"github.com/esacert/esacert/internal/record"

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

func (s edgeSource) Load(ctx context.Context, ids []int64) ([]edge.SiteState, int64, error) {
	store := s.n.db.Load()
	if store == nil {
		return nil, 0, errNoDatabase
	}
	st, err := store.LoadEdge(ctx, ids)
	if err != nil {
		return nil, 0, err
	}
	byID := make(map[int64]*edge.SiteState, len(st.Sites))
	out := make([]edge.SiteState, 0, len(st.Sites)+len(ids))
	policies := sitePolicies(st.HTTPS)
	for i := range st.Sites {
		site := st.Sites[i]
		out = append(out, edge.SiteState{ID: site.ID, Site: &site, Policy: sitePolicy(policies, site.ID)})
	}
	for i := range out {
		byID[out[i].ID] = &out[i]
	}
	for _, c := range st.Certificates {
		if s := byID[c.SiteID]; s != nil {
			s.Certificates = append(s.Certificates, c)
		}
	}
	for _, r := range st.Records {
		s := byID[r.SiteID]
		if s == nil || !r.Proxied {
			continue
		}
		hosts, port := r.Origins()
		if len(hosts) == 0 {
			continue
		}
		host := hosts[0]
		if r.Type == record.RecordA {
			for _, h := range hosts { // the first IPv4 address, if any
				if ip, err := netip.ParseAddr(h); err == nil && ip.Is4() {
					host = h
					break
				}
			}
		}
		rt := edge.Route{Name: r.Name, Origin: net.JoinHostPort(host, strconv.Itoa(port))}
		if r.Type == record.RecordCNAME && r.HostPolicy == "follow_origin_domain" {
			rt.OriginHost = host
		}
		s.Routes = append(s.Routes, rt)
	}
	for _, id := range ids { // sites that are gone
		if byID[id] == nil {
			out = append(out, edge.SiteState{ID: id})
		}
	}
	return out, st.Rev, nil
}
