package edge

import (
	"net"
	"net/netip"
	"strconv"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/httpsconf"
	"github.com/esacert/esacert/internal/record"
	"github.com/esacert/esacert/internal/site"
)

// States builds what the edge serves for the sites ids names (all sites for
// nil) from the domain's rows of them, as a Source's Load returns them:
// each site with its certificates, the routes of its proxied records (to
// the first IPv4 address of an A/AAAA record, else its first host; with
// the origin's name as Host for a CNAME record that follows the origin
// domain) and the policy of its HTTPS settings. A site that ids names but
// sites does not hold is gone: its SiteState has no Site.
func States(ids []int64, sites []site.Site, certs []cert.Certificate, records []record.Record, configs []httpsconf.HTTPSConfig) []SiteState {
	byID := make(map[int64]*SiteState, len(sites))
	out := make([]SiteState, 0, len(sites)+len(ids))
	policies := sitePolicies(configs)
	for i := range sites {
		st := sites[i]
		out = append(out, SiteState{ID: st.ID, Site: &st, Policy: sitePolicy(policies, st.ID)})
	}
	for i := range out {
		byID[out[i].ID] = &out[i]
	}
	for _, c := range certs {
		if s := byID[c.SiteID]; s != nil {
			s.Certificates = append(s.Certificates, c)
		}
	}
	for _, r := range records {
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
		rt := Route{Name: r.Name, Origin: net.JoinHostPort(host, strconv.Itoa(port))}
		if r.Type == record.RecordCNAME && r.HostPolicy == "follow_origin_domain" {
			rt.OriginHost = host
		}
		if a := r.AuthConf; r.Type == record.RecordCNAME && (a.AuthType == "private" || a.AuthType == "private_cross_account") {
			rt.Auth = RouteAuth{Type: a.AuthType, Version: a.Version, Region: a.Region, Record: r.ID, Sealed: r.SealedSecrets}
			if a.AuthType == "private_cross_account" {
				rt.Auth.Bucket = record.OSSBucket(host)
			}
		}
		s.Routes = append(s.Routes, rt)
	}
	for _, id := range ids { // sites that are gone
		if byID[id] == nil {
			out = append(out, SiteState{ID: id})
		}
	}
	return out
}
