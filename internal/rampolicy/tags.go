package rampolicy

import (
	"context"

	"github.com/esacert/esacert/internal/domain"
)

// TagKind is the kind of resource the tags of policies are kept under.
const TagKind = "policy"

// ResourceTags returns the tags of the named custom policies (each must
// exist: ErrPolicyNotFound otherwise).
func (s *Service) ResourceTags(ctx context.Context, names []string) (map[string][]domain.Tag, error) {
	if err := s.exist(ctx, names); err != nil {
		return nil, err
	}
	return s.TagStore.Tags(ctx, TagKind, names)
}

// Tag adds or overwrites tags of the named custom policies.
func (s *Service) Tag(ctx context.Context, names []string, tags []domain.Tag) error {
	if len(tags) == 0 {
		return domain.Missing("Tag")
	}
	if err := domain.CheckTags("Tag", tags); err != nil {
		return err
	}
	if err := s.exist(ctx, names); err != nil {
		return err
	}
	for _, n := range names {
		if err := s.TagStore.TagResource(ctx, TagKind, n, tags, domain.MaxTags); err != nil {
			return err
		}
	}
	return nil
}

// Untag removes the tags with those keys (all of them when all) from the
// named custom policies.
func (s *Service) Untag(ctx context.Context, names, keys []string, all bool) error {
	if err := s.exist(ctx, names); err != nil {
		return err
	}
	for _, n := range names {
		if err := s.TagStore.UntagResource(ctx, TagKind, n, keys, all); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) exist(ctx context.Context, names []string) error {
	if len(names) == 0 {
		return domain.Missing("ResourceNames")
	}
	if len(names) > 50 {
		return domain.Invalid("ResourceNames", "names at most 50 resources")
	}
	for _, n := range names {
		if err := custom(n); err != nil {
			return err
		}
		if _, _, err := s.Store.Policy(ctx, n); err != nil {
			return err
		}
	}
	return nil
}
