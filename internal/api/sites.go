package api

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/site"
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

func (s *Server) siteJSON(st site.Site) siteJSON {
	j := siteJSON{
		SiteId:          st.ID,
		SiteName:        st.Name,
		AccessType:      st.AccessType,
		Coverage:        st.Coverage,
		Status:          st.Status,
		InstanceId:      st.InstanceID,
		PlanName:        st.Plan.Name,
		PlanSpecName:    st.Plan.Type(),
		ResourceGroupId: st.ResourceGroupID,
		VerifyCode:      st.VerifyCode,
		Tags:            map[string]string{},
		CreateTime:      fmtSiteTime(st.Created),
		UpdateTime:      fmtSiteTime(st.Updated),
		VisitTime:       fmtSiteTime(st.Updated),
	}
	switch st.AccessType {
	case "NS":
		j.NameServerList = s.NameServers
	case "CNAME":
		if s.CnameZone != "" {
			j.CnameZone = st.Name + "." + strings.TrimPrefix(s.CnameZone, ".")
		}
	}
	return j
}

func (s *Server) createSite(ctx context.Context, p *params) (any, error) {
	st, err := s.Sites.CreateSite(ctx, site.CreateSiteInput{
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
	}{SiteId: st.ID, VerifyCode: st.VerifyCode}
	if st.AccessType == "NS" {
		out.NameServerList = s.NameServers
	}
	return out, nil
}

func (s *Server) getSite(ctx context.Context, p *params) (any, error) {
	id, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	site, err := s.Sites.Site(ctx, id)
	if err != nil {
		return nil, err
	}
	j := s.siteJSON(site)
	if err := s.fillTags(ctx, []*siteJSON{&j}); err != nil {
		return nil, err
	}
	return struct{ SiteModel siteJSON }{j}, nil
}

func (s *Server) deleteSite(ctx context.Context, p *params) (any, error) {
	id, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	return nil, s.Sites.DeleteSite(ctx, id)
}

func (s *Server) verifySite(ctx context.Context, p *params) (any, error) {
	id, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	passed, err := s.Sites.VerifySite(ctx, id)
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
	filter, err := tagFilter(p)
	if err != nil {
		return nil, err
	}
	out := struct {
		PageNumber int
		PageSize   int
		TotalCount int
		Sites      []siteJSON
	}{PageNumber: page.Offset/page.Limit + 1, PageSize: page.Limit, Sites: []siteJSON{}}
	sites, total, err := s.Sites.ListSites(ctx, site.SiteFilter{
		Tags:            filter,
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
	for _, st := range sites {
		out.Sites = append(out.Sites, s.siteJSON(st))
	}
	js := make([]*siteJSON, len(out.Sites))
	for i := range out.Sites {
		js[i] = &out.Sites[i]
	}
	return out, s.fillTags(ctx, js)
}

// fillTags sets the Tags of the sites.
func (s *Server) fillTags(ctx context.Context, sites []*siteJSON) error {
	if s.Settings == nil || len(sites) == 0 {
		return nil
	}
	ids := make([]int64, len(sites))
	for i, j := range sites {
		ids[i] = j.SiteId
	}
	tags, err := s.Settings.Store.SiteTags(ctx, ids) // the sites were just read: no existence check
	if err != nil {
		return err
	}
	for _, j := range sites {
		for _, t := range tags[j.SiteId] {
			j.Tags[t.Key] = t.Value
		}
	}
	return nil
}

// tagFilter returns the tags the request filters by (nil for none), in
// the forms clients send: TagFilter as one JSON array, or flattened as
// Tags.N.Key / Tags.N.Value (Terraform) or TagFilter.N.Key / .Value.
func tagFilter(p *params) ([]domain.Tag, error) {
	var out []domain.Tag
	if raw := p.str("TagFilter"); raw != "" {
		var tf []struct{ Key, Value string }
		if err := json.Unmarshal([]byte(raw), &tf); err != nil {
			return nil, domain.Invalid("TagFilter", `must be a JSON array such as [{"Key":"k","Value":"v"}]`)
		}
		for _, t := range tf {
			out = append(out, domain.Tag{Key: t.Key, Value: t.Value})
		}
		return out, nil
	}
	for _, prefix := range []string{"Tags.", "TagFilter."} {
		for i := 1; p.has(prefix + strconv.Itoa(i) + ".Key"); i++ {
			n := prefix + strconv.Itoa(i)
			out = append(out, domain.Tag{Key: p.str(n + ".Key"), Value: p.str(n + ".Value")})
		}
	}
	for k := range p.v {
		if out == nil && (strings.HasPrefix(k, "Tags.") || strings.HasPrefix(k, "TagFilter.")) {
			return nil, domain.Invalid(k, "a tag filter is sent as Tags.N.Key and Tags.N.Value, N from 1")
		}
	}
	return out, nil
}
