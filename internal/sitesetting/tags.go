package sitesetting

import (
	"context"
	"fmt"

	"github.com/esacert/esacert/internal/domain"
)

// MaxTaggedSites is how many sites one tag request names at most (ESA's
// ResourceId.N, N up to 50).
const MaxTaggedSites = 50

// MaxTagKeys is how many keys one UntagResources names at most.
const MaxTagKeys = 20

// SiteTags returns the tags of the sites (each must exist); nil ids means
// every site's.
func (s *Service) SiteTags(ctx context.Context, ids []int64) (map[int64][]domain.Tag, error) {
	if ids != nil {
		if err := s.exist(ctx, ids); err != nil {
			return nil, err
		}
	}
	return s.Store.SiteTags(ctx, ids)
}

// FindSiteTags returns one page of the tags of all sites that match filter
// (Store.FindSiteTags), and how many match in all.
func (s *Service) FindSiteTags(ctx context.Context, filter []domain.Tag, page domain.Page) ([]SiteTag, int, error) {
	return s.Store.FindSiteTags(ctx, filter, page)
}

// TagSites adds tags to the sites, overwriting the values of keys they
// have, with ESA's limits: at most domain.MaxTags tags on a site (else
// domain.ErrTagLimit), keys 1 to 128 characters and not starting with acs:
// or aliyun, values at most 128 (domain.CheckTags). It tags every site or
// none: a site that would go over the limit leaves the others untagged.
func (s *Service) TagSites(ctx context.Context, ids []int64, tags []domain.Tag) error {
	if len(tags) == 0 {
		return domain.Missing("Tag")
	}
	if err := domain.CheckTags("Tag", tags); err != nil {
		return err
	}
	if err := s.exist(ctx, ids); err != nil {
		return err
	}
	return s.Store.TagSites(ctx, ids, tags, domain.MaxTags)
}

// UntagSites removes the tags with those keys (every tag when all) from the
// sites: from all of them or, when one does not exist, from none.
func (s *Service) UntagSites(ctx context.Context, ids []int64, keys []string, all bool) error {
	if len(keys) == 0 && !all {
		return domain.Missing("TagKey")
	}
	if len(keys) > MaxTagKeys {
		return domain.Invalid("TagKey", fmt.Sprintf("names at most %d keys", MaxTagKeys))
	}
	if err := domain.CheckTagKeys("TagKey", keys); err != nil {
		return err
	}
	if err := s.exist(ctx, ids); err != nil {
		return err
	}
	return s.Store.UntagSites(ctx, ids, keys, all)
}

func (s *Service) exist(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return domain.Missing("ResourceId")
	}
	if len(ids) > MaxTaggedSites {
		return domain.Invalid("ResourceId", fmt.Sprintf("names at most %d sites", MaxTaggedSites))
	}
	for _, id := range ids {
		if err := s.Check(ctx, id); err != nil {
			return err
		}
	}
	return nil
}
