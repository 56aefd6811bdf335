package api

import (
	"context"
	"strconv"
	"strings"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/rampolicy"
	"github.com/esacert/esacert/internal/role"
)

// tagger is what ListTagResources, TagResources and UntagResources need of
// the nouns that have tags (policies and roles).
type tagger interface {
	ResourceTags(ctx context.Context, names []string) (map[string][]domain.Tag, error)
	Tag(ctx context.Context, names []string, tags []domain.Tag) error
	Untag(ctx context.Context, names, keys []string, all bool) error
}

// tagged returns the noun that ResourceType names (policy or role) and
// the ResourceNames the request lists, as every tag action reads them.
func (s *Server) tagged(p *params) (kind string, tg tagger, names []string, err error) {
	switch kind = strings.ToLower(p.str("ResourceType")); kind {
	case "":
		return "", nil, nil, domain.Missing("ResourceType")
	case rampolicy.TagKind:
		tg = s.Policies
	case role.TagKind:
		tg = s.Roles
	default:
		return "", nil, nil, domain.Invalid("ResourceType", "must be policy or role")
	}
	if names, err = p.stringList("ResourceNames", "ResourceNames"); err != nil {
		return "", nil, nil, err
	}
	return kind, tg, names, nil
}

func (s *Server) listTagResources(ctx context.Context, p *params) (any, error) {
	kind, tg, names, err := s.tagged(p)
	if err != nil {
		return nil, err
	}
	filter, err := p.tags()
	if err != nil {
		return nil, err
	}
	size, err := p.int("PageSize")
	if err != nil {
		return nil, err
	}
	if size == 0 {
		size = 50
	}
	if size < 1 || size > 100 {
		return nil, domain.Invalid("PageSize", "must be between 1 and 100")
	}
	offset := 0
	if tok := p.str("NextToken"); tok != "" {
		if offset, err = strconv.Atoi(tok); err != nil || offset < 0 {
			return nil, domain.Invalid("NextToken", "is not a token a list answered")
		}
	}
	tags, err := tg.ResourceTags(ctx, names)
	if err != nil {
		return nil, err
	}
	type item struct{ ResourceName, ResourceType, TagKey, TagValue string }
	all := []item{}
	for _, n := range names {
		for _, t := range tags[n] {
			if matchesTags(t, filter) {
				all = append(all, item{n, kind, t.Key, t.Value})
			}
		}
	}
	out := struct {
		NextToken    string `json:",omitempty"`
		TagResources []item
	}{TagResources: all[min(offset, len(all)):]}
	if len(out.TagResources) > size {
		out.TagResources = out.TagResources[:size]
		out.NextToken = strconv.Itoa(offset + size)
	}
	return out, nil
}

// matchesTags reports whether t is one of filter (an empty filter matches
// every tag; a filter tag without a value matches every value of its key).
func matchesTags(t domain.Tag, filter []domain.Tag) bool {
	if len(filter) == 0 {
		return true
	}
	for _, f := range filter {
		if f.Key == t.Key && (f.Value == "" || f.Value == t.Value) {
			return true
		}
	}
	return false
}

func (s *Server) tagResources(ctx context.Context, p *params) (any, error) {
	_, tg, names, err := s.tagged(p)
	if err != nil {
		return nil, err
	}
	tags, err := p.tags()
	if err != nil {
		return nil, err
	}
	return nil, tg.Tag(ctx, names, tags)
}

func (s *Server) untagResources(ctx context.Context, p *params) (any, error) {
	_, tg, names, err := s.tagged(p)
	if err != nil {
		return nil, err
	}
	keys, err := p.stringList("TagKeys", "TagKey")
	if err != nil {
		return nil, err
	}
	all, err := p.boolean("All")
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 && !all {
		return nil, domain.Missing("TagKeys")
	}
	return nil, tg.Untag(ctx, names, keys, all)
}
