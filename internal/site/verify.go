package site

import (
	"context"
	"slices"
	"strings"
)

// Resolver looks up DNS records of a fully qualified name. A name without
// such records is an empty answer, not an error; an error means no answer
// came (a timeout, a refusal).
type Resolver interface {
	LookupNS(ctx context.Context, fqdn string) ([]string, error)
	LookupTXT(ctx context.Context, fqdn string) ([]string, error)
}

// VerifySite looks for the proof that the site's owner controls its
// domain, and activates a pending site that has it (the edge serves it from
// then on): for a CNAME site, a TXT record _esaauth.<site> holding the
// site's VerifyCode; for an NS site, the domain delegated to the assigned
// name servers (every NS record names one of them). It reports whether the
// site passed; an active site passes at once, an offline or moved one never.
// A DNS answer that does not come (no record, no domain, a timeout) is a
// failed check, not an error.
func (s *Service) VerifySite(ctx context.Context, id int64) (bool, error) {
	site, err := s.Store.Site(ctx, id)
	if err != nil {
		return false, err
	}
	switch {
	case site.Status == SiteActive:
		return true, nil
	case site.Status != SitePending || s.Resolver == nil:
		return false, nil
	case site.AccessType == "NS" && len(s.NameServers) == 0:
		return false, nil // no name servers to delegate to: nothing to look up
	}
	passed := false
	var lookupErr error
	switch site.AccessType {
	case "CNAME":
		var txts []string
		txts, lookupErr = s.Resolver.LookupTXT(ctx, "_esaauth."+site.Name+".")
		passed = slices.Contains(txts, site.VerifyCode)
	case "NS":
		assigned := map[string]bool{}
		for _, n := range s.NameServers {
			assigned[strings.ToLower(strings.TrimSuffix(strings.TrimSpace(n), "."))] = true
		}
		var hosts []string
		hosts, lookupErr = s.Resolver.LookupNS(ctx, site.Name+".")
		passed = len(hosts) > 0 && len(assigned) > 0
		for _, h := range hosts {
			passed = passed && assigned[strings.ToLower(strings.TrimSuffix(h, "."))]
		}
	}
	if lookupErr != nil && s.Log != nil { // the operator's resolvers, not the user's records
		s.Log("site verification got no DNS answer", site.Name, lookupErr)
	}
	if !passed {
		return false, nil
	}
	if changed, err := s.Store.ActivateSite(ctx, id, s.now()); err != nil || changed {
		return changed, err
	}
	now, err := s.Store.Site(ctx, id) // it left pending meanwhile: report what it is
	return err == nil && now.Status == SiteActive, err
}
