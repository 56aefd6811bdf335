package api

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/esacert/esacert/internal/clientca"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/origincert"
)

// Client CA certificates: CAs whose certificates the edge asks visitors of
// the hostnames bound to them for (mutual TLS). They are answered as the
// origin CA certificates are (the SDK's models have the same fields).

func clientCA(c clientca.CA) originCAJSON {
	return originCA(origincert.CA{ID: c.ID, Name: c.Name, Info: c.Info, Created: c.Created, Updated: c.Updated})
}

func (s *Server) uploadClientCaCertificate(ctx context.Context, p *params) (any, error) {
	siteID, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	c, err := s.ClientCAs.Upload(ctx, siteID, p.str("Name"), p.str("Certificate"))
	if err != nil {
		return nil, err
	}
	return s.originUploaded(c.ID, c.Info), nil
}

func (s *Server) getClientCaCertificate(ctx context.Context, p *params) (any, error) {
	siteID, id, err := p.siteAndID()
	if err != nil {
		return nil, err
	}
	c, err := s.ClientCAs.CA(ctx, siteID, id)
	if err != nil {
		return nil, err
	}
	return originGot(c.SiteID, c.SiteName, c.CertPEM, clientCA(c)), nil
}

func (s *Server) listClientCaCertificates(ctx context.Context, p *params) (any, error) {
	siteID, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	page, err := p.page(20, 500)
	if err != nil {
		return nil, err
	}
	list, total, site, err := s.ClientCAs.List(ctx, siteID, page)
	if err != nil {
		return nil, err
	}
	out := originListed[originCAJSON](site.ID, site.Name, page, total)
	for _, c := range list {
		out.Result = append(out.Result, clientCA(c))
	}
	return out, nil
}

func (s *Server) deleteClientCaCertificate(ctx context.Context, p *params) (any, error) {
	siteID, id, err := p.siteAndID()
	if err != nil {
		return nil, err
	}
	site, err := s.ClientCAs.Delete(ctx, siteID, id)
	if err != nil {
		return nil, err
	}
	return originDone(id, site.ID, site.Name), nil
}

func (s *Server) setClientCaCertificateHostnames(ctx context.Context, p *params) (any, error) {
	siteID, id, err := p.siteAndID()
	if err != nil {
		return nil, err
	}
	hostnames, err := p.hostnames()
	if err != nil {
		return nil, err
	}
	site, names, err := s.ClientCAs.SetHostnames(ctx, siteID, id, hostnames)
	if err != nil {
		return nil, err
	}
	return hostnamesAnswer(id, site.ID, site.Name, names), nil
}

func (s *Server) getClientCaCertificateHostnames(ctx context.Context, p *params) (any, error) {
	siteID, id, err := p.siteAndID()
	if err != nil {
		return nil, err
	}
	c, err := s.ClientCAs.CA(ctx, siteID, id)
	if err != nil {
		return nil, err
	}
	return hostnamesAnswer(c.ID, c.SiteID, c.SiteName, c.Hostnames), nil
}

// hostnames reads the required Hostnames parameter: a JSON array of names.
// "[]" binds none, and so does a Hostnames sent empty: Terraform's
// alicloud_esa_client_ca_certificate sends "Hostnames=" for
// client_ca_certificate_hostnames = [] or once the attribute is removed.
// Leaving the parameter out is still MissingParameter.
func (p *params) hostnames() ([]string, error) {
	if !p.has("Hostnames") {
		return nil, domain.Missing("Hostnames")
	}
	raw := strings.TrimSpace(p.str("Hostnames"))
	if raw == "" {
		return nil, nil
	}
	var hostnames []string
	if err := json.Unmarshal([]byte(raw), &hostnames); err != nil {
		return nil, domain.Invalid("Hostnames", "must be a JSON array of host names")
	}
	return hostnames, nil
}

// hostnamesAnswer answers a Set…Hostnames or Get…Hostnames of the client
// CA and client certificate families: the CA, its site and its hostnames.
func hostnamesAnswer(id string, siteID int64, siteName string, hostnames []string) any {
	if hostnames == nil {
		hostnames = []string{}
	}
	return struct {
		Id        string
		SiteId    int64
		SiteName  string
		Hostnames []string
	}{id, siteID, siteName, hostnames}
}
