package rampolicy

import (
	"context"

	"github.com/esacert/esacert/internal/domain"
)

// TagKind is the kind of resource the tags of policies are kept under.
const TagKind = "policy"

// tagging is the tag use cases of custom policies.
func (s *Service) tagging() domain.Tagging {
	return domain.Tagging{Kind: TagKind, Store: s.TagStore, Exists: func(ctx context.Context, name string) error {
		if err := custom(name); err != nil {
			return err
		}
		_, _, err := s.Store.Policy(ctx, name)
		return err
	}}
}

// ResourceTags returns the tags of the named custom policies (each must
// exist: ErrPolicyNotFound otherwise).
func (s *Service) ResourceTags(ctx context.Context, names []string) (map[string][]domain.Tag, error) {
	return s.tagging().ResourceTags(ctx, names)
}

// Tag adds or overwrites tags of the named custom policies.
func (s *Service) Tag(ctx context.Context, names []string, tags []domain.Tag) error {
	return s.tagging().Tag(ctx, names, tags)
}

// Untag removes the tags with those keys (all of them when all) from the
// named custom policies.
func (s *Service) Untag(ctx context.Context, names, keys []string, all bool) error {
	return s.tagging().Untag(ctx, names, keys, all)
}
