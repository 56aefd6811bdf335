package api

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/esacert/esacert/internal/domain"
)

// ESA's tag actions (version 2024-09-10; RAM's, of the same names, are in
// tags.go): the tags of sites, named by ResourceId.N (site ids) with
// ResourceType site.

// siteTagType is the ResourceType of sites, as ESA answers it.
const siteTagType = "site"

// taggedSites reads ResourceType (site) and the ResourceId.N list (site
// ids; none is nil) of an ESA tag action.
func taggedSites(p *params) ([]int64, error) {
	switch t := strings.ToLower(p.str("ResourceType")); t {
	case "":
		return nil, domain.Missing("ResourceType")
	case siteTagType:
	default:
		return nil, domain.Invalid("ResourceType", "esacert tags sites only: must be site")
	}
	raw, err := p.stringList("ResourceId", "ResourceId")
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, r := range raw {
		id, err := parseInt(r)
		if err != nil || id <= 0 {
			return nil, domain.Invalid("ResourceId", "must be site ids, as ListSites answers them")
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// Paging of ESA's ListTagResources.
const (
	defaultTagItems = 20
	maxTagItems     = 100
)

func (s *Server) listSiteTags(ctx context.Context, p *params) (any, error) {
	ids, err := taggedSites(p)
	if err != nil {
		return nil, err
	}
	filter, err := p.tags()
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 && len(filter) == 0 {
		return nil, domain.Missing("ResourceId")
	}
	size, err := p.int("MaxItem")
	if err != nil {
		return nil, err
	}
	if size == 0 {
		size = defaultTagItems
	}
	if size < 1 || size > maxTagItems {
		return nil, domain.Invalid("MaxItem", "must be between 1 and 100")
	}
	offset := 0
	if tok := p.str("NextToken"); tok != "" {
		if offset, err = strconv.Atoi(tok); err != nil || offset < 0 {
			return nil, domain.Invalid("NextToken", "is not a token a list answered")
		}
	}
	type item struct{ ResourceId, ResourceType, TagKey, TagValue string }
	out := struct {
		NextToken    string `json:",omitempty"`
		TagResources []item
		TotalCount   int
	}{TagResources: []item{}}
	add := func(id int64, t domain.Tag) {
		out.TagResources = append(out.TagResources, item{strconv.FormatInt(id, 10), siteTagType, t.Key, t.Value})
	}
	if ids == nil {
		// Every site's tags that match, in site id then key order: the
		// database filters and pages them.
		found, total, err := s.Settings.FindSiteTags(ctx, filter, domain.Page{Offset: offset, Limit: size})
		if err != nil {
			return nil, err
		}
		for _, t := range found {
			add(t.SiteID, t.Tag)
		}
		out.TotalCount = total
	} else {
		// The named sites' (at most sitesetting.MaxTaggedSites), in the
		// order named.
		tags, err := s.Settings.SiteTags(ctx, ids)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			for _, t := range tags[id] {
				if matchesTags(t, filter) {
					if out.TotalCount >= offset && len(out.TagResources) < size {
						add(id, t)
					}
					out.TotalCount++
				}
			}
		}
	}
	if out.TotalCount-size > offset { // not offset+size: a NextToken may be near the largest int
		out.NextToken = strconv.Itoa(offset + size)
	}
	return out, nil
}

func (s *Server) tagSites(ctx context.Context, p *params) (any, error) {
	ids, err := taggedSites(p)
	if err != nil {
		return nil, err
	}
	tags, err := p.tags()
	if err != nil {
		return nil, err
	}
	return nil, s.Settings.TagSites(ctx, ids, tags)
}

func (s *Server) untagSites(ctx context.Context, p *params) (any, error) {
	ids, err := taggedSites(p)
	if err != nil {
		return nil, err
	}
	keys, err := p.stringList("TagKey", "TagKey")
	if err != nil {
		return nil, err
	}
	all, err := p.boolean("All")
	if err != nil {
		return nil, err
	}
	return nil, s.Settings.UntagSites(ctx, ids, keys, all)
}
