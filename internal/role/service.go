package role

import (
	"context"
	"errors"
	"io"
	"strconv"
	"time"

	"github.com/esacert/esacert/internal/domain"
)

// Service holds the use cases on roles. Its fields are set once, before
// first use; after that a Service is safe for concurrent use.
type Service struct {
	// Store and TagStore keep roles and their tags; both required.
	Store    Store
	TagStore TagStore
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Rand is the source of ids; nil means crypto/rand.
	Rand io.Reader
}

func (s *Service) now() time.Time { return domain.Now(s.Now).Truncate(time.Second) }

// CreateInput is what CreateRole takes; MaxSessionDuration 0 means
// DefaultMaxSession.
type CreateInput struct {
	Name, TrustDocument, Description string
	MaxSessionDuration               int
	Tags                             []domain.Tag
}

// CreateRole checks in and creates the role.
func (s *Service) CreateRole(ctx context.Context, in CreateInput) (Role, error) {
	if in.Name == "" {
		return Role{}, domain.Missing("RoleName")
	}
	if err := CheckName("RoleName", in.Name); err != nil {
		return Role{}, err
	}
	if _, err := CheckTrust("AssumeRolePolicyDocument", in.TrustDocument); err != nil {
		return Role{}, err
	}
	if err := domain.CheckLength("Description", in.Description, MaxDescriptionLen); err != nil {
		return Role{}, err
	}
	if in.MaxSessionDuration == 0 {
		in.MaxSessionDuration = DefaultMaxSession
	}
	if err := checkMaxSession("MaxSessionDuration", in.MaxSessionDuration); err != nil {
		return Role{}, err
	}
	if err := domain.CheckTags("Tag", in.Tags); err != nil {
		return Role{}, err
	}
	now := s.now()
	r := Role{Name: in.Name, Description: in.Description, TrustDocument: in.TrustDocument,
		MaxSessionDuration: in.MaxSessionDuration, Created: now, Updated: now, Tags: in.Tags}
	for attempt := 0; ; attempt++ {
		r.ID = strconv.FormatInt(domain.NumericID(s.Rand, IDDigits), 10)
		err := s.Store.CreateRole(ctx, r, MaxRoles)
		if errors.Is(err, domain.ErrExists) && attempt < 5 {
			continue
		}
		if err != nil {
			return Role{}, err
		}
		return r, nil
	}
}

// Role returns the role of that name, or ErrRoleNotFound.
func (s *Service) Role(ctx context.Context, name string) (Role, error) {
	if name == "" {
		return Role{}, domain.Missing("RoleName")
	}
	if err := CheckName("RoleName", name); err != nil {
		return Role{}, err
	}
	return s.Store.Role(ctx, name)
}

// ListRoles returns a page of roles in name order and the next page's marker.
func (s *Service) ListRoles(ctx context.Context, m domain.Marker) ([]Role, string, error) {
	list, err := s.Store.ListRoles(ctx, m)
	if err != nil {
		return nil, "", err
	}
	page, next := domain.MarkerPage(list, m, func(x Role) string { return x.Name })
	return page, next, nil
}

// UpdateInput is what UpdateRole takes: a nil field is left as it is.
type UpdateInput struct {
	TrustDocument, Description *string
	MaxSessionDuration         *int
}

// UpdateRole changes the role's trust policy, description or longest session.
func (s *Service) UpdateRole(ctx context.Context, name string, in UpdateInput) (Role, error) {
	r, err := s.Role(ctx, name)
	if err != nil {
		return Role{}, err
	}
	if in.TrustDocument != nil {
		if _, err := CheckTrust("NewAssumeRolePolicyDocument", *in.TrustDocument); err != nil {
			return Role{}, err
		}
		r.TrustDocument = *in.TrustDocument
	}
	if in.Description != nil {
		if err := domain.CheckLength("NewDescription", *in.Description, MaxDescriptionLen); err != nil {
			return Role{}, err
		}
		r.Description = *in.Description
	}
	if in.MaxSessionDuration != nil {
		if err := checkMaxSession("NewMaxSessionDuration", *in.MaxSessionDuration); err != nil {
			return Role{}, err
		}
		r.MaxSessionDuration = *in.MaxSessionDuration
	}
	r.Updated = s.now()
	if err := s.Store.UpdateRole(ctx, r); err != nil {
		return Role{}, err
	}
	return r, nil
}

// DeleteRole deletes the role (ErrHasPolicy while policies are attached):
// its sessions stop working at once.
func (s *Service) DeleteRole(ctx context.Context, name string) error {
	if _, err := s.Role(ctx, name); err != nil {
		return err
	}
	return s.Store.DeleteRole(ctx, name)
}

// TagKind is the kind of resource the tags of roles are kept under.
const TagKind = "role"

// tagging is the tag use cases of roles.
func (s *Service) tagging() domain.Tagging {
	return domain.Tagging{Kind: TagKind, Store: s.TagStore, Exists: func(ctx context.Context, name string) error {
		_, err := s.Role(ctx, name)
		return err
	}}
}

// ResourceTags returns the tags of the named roles (each must exist).
func (s *Service) ResourceTags(ctx context.Context, names []string) (map[string][]domain.Tag, error) {
	return s.tagging().ResourceTags(ctx, names)
}

// Tag adds or overwrites tags of the named roles.
func (s *Service) Tag(ctx context.Context, names []string, tags []domain.Tag) error {
	return s.tagging().Tag(ctx, names, tags)
}

// Untag removes the tags with those keys (all when all) from the named roles.
func (s *Service) Untag(ctx context.Context, names, keys []string, all bool) error {
	return s.tagging().Untag(ctx, names, keys, all)
}
