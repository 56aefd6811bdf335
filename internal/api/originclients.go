package api

import (
	"context"
	"encoding/json"

	"github.com/esacert/esacert/internal/domain"

	"github.com/esacert/esacert/internal/origincert"
)

// Origin client certificates: what the edge presents to origins that ask
// for a client certificate. The private key is never answered.

// originClientJSON is one origin client certificate in Get and List
// answers: an origin CA certificate's fields and the hostnames it is
// presented for (an empty list when none are set, as the SDK's model and
// Terraform's hostnames read it).
type originClientJSON struct {
	originCAJSON
	Hostnames []string
}

func originClient(c origincert.Client) originClientJSON {
	hostnames := c.Hostnames
	if hostnames == nil {
		hostnames = []string{}
	}
	return originClientJSON{
		originCA(origincert.CA{ID: c.ID, Name: c.Name, Info: c.Info, Created: c.Created, Updated: c.Updated}), hostnames}
}

func (s *Server) uploadOriginClientCertificate(ctx context.Context, p *params) (any, error) {
	siteID, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	c, err := s.OriginCerts.UploadClient(ctx, siteID, p.str("Name"), p.str("Certificate"), p.str("PrivateKey"))
	if err != nil {
		return nil, err
	}
	return s.originUploaded(c.ID, c.Info), nil
}

func (s *Server) getOriginClientCertificate(ctx context.Context, p *params) (any, error) {
	siteID, id, err := p.siteAndID()
	if err != nil {
		return nil, err
	}
	c, err := s.OriginCerts.Client(ctx, siteID, id)
	if err != nil {
		return nil, err
	}
	return originGot(c.SiteID, c.SiteName, c.CertPEM, originClient(c)), nil
}

func (s *Server) listOriginClientCertificates(ctx context.Context, p *params) (any, error) {
	siteID, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	page, err := p.page(20, 500)
	if err != nil {
		return nil, err
	}
	list, total, site, err := s.OriginCerts.ListClients(ctx, siteID, page)
	if err != nil {
		return nil, err
	}
	out := originListed[originClientJSON](site.ID, site.Name, page, total)
	for _, c := range list {
		out.Result = append(out.Result, originClient(c))
	}
	return out, nil
}

func (s *Server) deleteOriginClientCertificate(ctx context.Context, p *params) (any, error) {
	siteID, id, err := p.siteAndID()
	if err != nil {
		return nil, err
	}
	site, err := s.OriginCerts.DeleteClient(ctx, siteID, id)
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
	c, err := s.OriginCerts.Client(ctx, siteID, id)
	if err != nil {
		return nil, err
	}
	return originHostnames{c.ID, c.SiteID, c.SiteName, originClient(c).Hostnames}, nil
}

// originHostnames answers Set… and GetOriginClientCertificateHostnames.
type originHostnames struct {
	Id        string
	SiteId    int64
	SiteName  string
	Hostnames []string
}
