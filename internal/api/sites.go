package api

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/domain"
)

// siteJSON is a site as GetSite's SiteModel and ListSites' Sites[] show it.
type siteJSON struct {
	SiteId            int64
	SiteName          string
	AccessType        string
	Coverage          string
	Status            string
	InstanceId        string
	PlanName          string
	PlanSpecName      string
	ResourceGroupId   string
	VerifyCode        string
	NameServerList    string `json:",omitempty"`
	CnameZone         string `json:",omitempty"`
	Tags              map[string]string
	VersionManagement bool
	CreateTime        string
	UpdateTime        string
	VisitTime         string
}

func (s *Server) siteJSON(site cert.Site) siteJSON {
	j := siteJSON{
		SiteId:          site.ID,
		SiteName:        site.Name,
		AccessType:      site.AccessType,
		Coverage:        site.Coverage,
		Status:          site.Status,
		InstanceId:      site.InstanceID,
		PlanName:        site.Plan.Name,
		PlanSpecName:    site.Plan.Type(),
		ResourceGroupId: site.ResourceGroupID,
		VerifyCode:      site.VerifyCode,
		Tags:            map[string]string{},
		CreateTime:      fmtSiteTime(site.Created),
		UpdateTime:      fmtSiteTime(site.Updated),
		VisitTime:       fmtSiteTime(site.Updated),
	}
	switch site.AccessType {
	case "NS":
		j.NameServerList = s.NameServers
	case "CNAME":
		if s.CnameZone != "" {
			j.CnameZone = site.Name + "." + strings.TrimPrefix(s.CnameZone, ".")
		}
	}
	return j
}

func (s *Server) createSite(ctx context.Context, p *params) (any, error) {
	site, err := s.Service.CreateSite(ctx, cert.CreateSiteInput{
		Name:            p.str("SiteName"),
		AccessType:      p.str("AccessType"),
		Coverage:        p.str("Coverage"),
		InstanceID:      p.str("InstanceId"),
		ResourceGroupID: p.str("ResourceGroupId"),
	})
	if err != nil {
		return nil, err
	}
	out := struct {
		SiteId         int64
		VerifyCode     string
		NameServerList string `json:",omitempty"`
	}{SiteId: site.ID, VerifyCode: site.VerifyCode}
	if site.AccessType == "NS" {
		out.NameServerList = s.NameServers
	}
	return out, nil
}

func (s *Server) getSite(ctx context.Context, p *params) (any, error) {
	id, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	site, err := s.Service.Site(ctx, id)
	if err != nil {
		return nil, err
	}
	return struct{ SiteModel siteJSON }{s.siteJSON(site)}, nil
}

func (s *Server) deleteSite(ctx context.Context, p *params) (any, error) {
	id, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	return nil, s.Service.DeleteSite(ctx, id)
}

func (s *Server) verifySite(ctx context.Context, p *params) (any, error) {
	id, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	passed, err := s.Service.VerifySite(ctx, id)
	if err != nil {
		return nil, err
	}
	return struct{ Passed bool }{passed}, nil
}

func (s *Server) listSites(ctx context.Context, p *params) (any, error) {
	page, err := p.page(20, 500)
	if err != nil {
		return nil, err
	}
	onlyEnterprise, err := p.boolean("OnlyEnterprise")
	if err != nil {
		return nil, err
	}
	if ob := p.str("OrderBy"); ob != "" && ob != "gmtCreate" && ob != "visitTime" {
		return nil, domain.Invalid("OrderBy", "must be gmtCreate or visitTime")
	}
	tags, err := tagFilter(p)
	if err != nil {
		return nil, err
	}
	out := struct {
		PageNumber int
		PageSize   int
		TotalCount int
		Sites      []siteJSON
	}{PageNumber: page.Offset/page.Limit + 1, PageSize: page.Limit, Sites: []siteJSON{}}
	if tags {
		// esacert keeps no tags on sites, so a tag filter matches none.
		return out, nil
	}
	sites, total, err := s.Service.ListSites(ctx, cert.SiteFilter{
		Name:            p.str("SiteName"),
		NameMatch:       p.str("SiteSearchType"),
		Status:          p.str("Status"),
		AccessType:      p.str("AccessType"),
		Coverage:        p.str("Coverage"),
		SubscribeType:   p.str("PlanSubscribeType"),
		ResourceGroupID: p.str("ResourceGroupId"),
		OnlyEnterprise:  onlyEnterprise,
		Page:            page,
	})
	if err != nil {
		return nil, err
	}
	out.TotalCount = total
	for _, site := range sites {
		out.Sites = append(out.Sites, s.siteJSON(site))
	}
	return out, nil
}

// tagFilter reports whether the request filters by tags, in either form
// clients send: TagFilter as one JSON array, or Tags.N.Key / Tags.N.Value.
func tagFilter(p *params) (bool, error) {
	if raw := p.str("TagFilter"); raw != "" {
		var tf []struct{ Key, Value string }
		if err := json.Unmarshal([]byte(raw), &tf); err != nil {
			return false, domain.Invalid("TagFilter", `must be a JSON array such as [{"Key":"k","Value":"v"}]`)
		}
		return len(tf) > 0, nil
	}
	for k := range p.v {
		if strings.HasPrefix(k, "Tags.") || strings.HasPrefix(k, "TagFilter.") {
			return true, nil
		}
	}
	return false, nil
}
