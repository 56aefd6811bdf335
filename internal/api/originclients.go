package api

import (
	"context"
	"encoding/json"

	"github.com/esacert/esacert/internal/domain"

	"github.com/esacert/esacert/internal/origincert"
)

// Origin client certificates: what the edge presents to origins that ask
// for a client certificate (OriginMtls), hostname-level and site-level. The
// private key is never answered.

// originClientJSON is one hostname-level origin client certificate in Get
// and List answers: an origin CA certificate's fields and the hostnames it
// is presented for (an empty list when none are set, as the SDK's model and
// Terraform's hostnames read it).
type originClientJSON struct {
	originCAJSON
	Hostnames []string
}

// originClient is a certificate of scope in Get and List answers: the
// site-level family's model has no Hostnames.
func originClient(c origincert.Client, scope origincert.Scope) any {
	ca := originCA(origincert.CA{ID: c.ID, Name: c.Name, Info: c.Info, Created: c.Created, Updated: c.Updated})
	if scope == origincert.ScopeSite {
		return ca
	}
	return originClientJSON{ca, clientHostnames(c)}
}

// clientHostnames are c's hostnames, an empty list when none are set.
func clientHostnames(c origincert.Client) []string {
	if c.Hostnames == nil {
		return []string{}
	}
	return c.Hostnames
}

// The hostname-level family (…OriginClientCertificate) and the site-level
// one (…SiteOriginClientCertificate) are the same actions on the two scopes
// of one store: each reads, lists and deletes only its own.

func (s *Server) uploadOriginClientCertificate(ctx context.Context, p *params) (any, error) {
	return s.uploadOriginClient(ctx, p, origincert.ScopeHostname)
}

func (s *Server) getOriginClientCertificate(ctx context.Context, p *params) (any, error) {
	return s.getOriginClient(ctx, p, origincert.ScopeHostname)
}

func (s *Server) listOriginClientCertificates(ctx context.Context, p *params) (any, error) {
	return s.listOriginClients(ctx, p, origincert.ScopeHostname)
}

func (s *Server) deleteOriginClientCertificate(ctx context.Context, p *params) (any, error) {
	return s.deleteOriginClient(ctx, p, origincert.ScopeHostname)
}

func (s *Server) uploadSiteOriginClientCertificate(ctx context.Context, p *params) (any, error) {
	return s.uploadOriginClient(ctx, p, origincert.ScopeSite)
}

func (s *Server) getSiteOriginClientCertificate(ctx context.Context, p *params) (any, error) {
	return s.getOriginClient(ctx, p, origincert.ScopeSite)
}

func (s *Server) listSiteOriginClientCertificates(ctx context.Context, p *params) (any, error) {
	return s.listOriginClients(ctx, p, origincert.ScopeSite)
}

func (s *Server) deleteSiteOriginClientCertificate(ctx context.Context, p *params) (any, error) {
	return s.deleteOriginClient(ctx, p, origincert.ScopeSite)
}

func (s *Server) uploadOriginClient(ctx context.Context, p *params, scope origincert.Scope) (any, error) {
	siteID, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	c, err := s.OriginCerts.UploadClient(ctx, scope, siteID, p.str("Name"), p.str("Certificate"), p.str("PrivateKey"))
	if err != nil {
		return nil, err
	}
	return s.originUploaded(c.ID, c.Info), nil
}

func (s *Server) getOriginClient(ctx context.Context, p *params, scope origincert.Scope) (any, error) {
	siteID, id, err := p.siteAndID()
	if err != nil {
		return nil, err
	}
	c, err := s.OriginCerts.Client(ctx, scope, siteID, id)
	if err != nil {
		return nil, err
	}
	return originGot(c.SiteID, c.SiteName, c.CertPEM, originClient(c, scope)), nil
}

func (s *Server) listOriginClients(ctx context.Context, p *params, scope origincert.Scope) (any, error) {
	siteID, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	page, err := p.page(20, 500)
	if err != nil {
		return nil, err
	}
	list, total, site, err := s.OriginCerts.ListClients(ctx, scope, siteID, page)
	if err != nil {
		return nil, err
	}
	out := originListed[any](site.ID, site.Name, page, total)
	for _, c := range list {
		out.Result = append(out.Result, originClient(c, scope))
	}
	return out, nil
}

func (s *Server) deleteOriginClient(ctx context.Context, p *params, scope origincert.Scope) (any, error) {
	siteID, id, err := p.siteAndID()
	if err != nil {
		return nil, err
	}
	site, err := s.OriginCerts.DeleteClient(ctx, scope, siteID, id)
	if err != nil {
		return nil, err
	}
	return originDone(id, site.ID, site.Name), nil
}

func (s *Server) setOriginClientCertificateHostnames(ctx context.Context, p *params) (any, error) {
	siteID, id, err := p.siteAndID()
	if err != nil {
		return nil, err
	}
	var hostnames []string
	if raw := p.str("Hostnames"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &hostnames); err != nil {
			return nil, domain.Invalid("Hostnames", "must be a JSON array of host names")
		}
	}
	site, kept, err := s.OriginCerts.SetClientHostnames(ctx, siteID, id, hostnames)
	if err != nil {
		return nil, err
	}
	return originHostnames{id, site.ID, site.Name, kept}, nil
}

func (s *Server) getOriginClientCertificateHostnames(ctx context.Context, p *params) (any, error) {
	siteID, id, err := p.siteAndID()
	if err != nil {
		return nil, err
	}
	c, err := s.OriginCerts.Client(ctx, origincert.ScopeHostname, siteID, id)
	if err != nil {
		return nil, err
	}
	return originHostnames{c.ID, c.SiteID, c.SiteName, clientHostnames(c)}, nil
}

// originHostnames answers Set… and GetOriginClientCertificateHostnames.
type originHostnames struct {
	Id        string
	SiteId    int64
	SiteName  string
	Hostnames []string
}
