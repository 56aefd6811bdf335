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

// TagSites adds tags to the sites, overwriting the values of keys they
// have, with ESA's limits: at most domain.MaxTags tags on a site (else
// domain.ErrTagLimit), keys 1 to 128 characters and not starting with acs:
// or aliyun, values at most 128.
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
	for _, id := range ids {
		if err := s.Store.TagSite(ctx, id, tags, domain.MaxTags); err != nil {
			return err
		}
	}
	return nil
}

// UntagSites removes the tags with those keys (every tag when all) from the
// sites.
func (s *Service) UntagSites(ctx context.Context, ids []int64, keys []string, all bool) error {
	if len(keys) == 0 && !all {
		return domain.Missing("TagKey")
	}
	if len(keys) > MaxTagKeys {
		return domain.Invalid("TagKey", fmt.Sprintf("names at most %d keys", MaxTagKeys))
	}
	if err := s.exist(ctx, ids); err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.Store.UntagSite(ctx, id, keys, all); err != nil {
			return err
		}
	}
	return nil
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
