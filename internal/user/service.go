package user

import (
	"context"
	"errors"
	"io"
	"strconv"
	"time"

	"github.com/esacert/esacert/internal/domain"
)

// MaxUsers is how many users an account holds.
const MaxUsers = 1000

// IDDigits is how many decimal digits a user id has.
const IDDigits = 16

// Service holds the use cases on users. Its fields are set once, before
// first use; after that a Service is safe for concurrent use.
type Service struct {
	// Store stores users; required.
	Store Store
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Rand is the source of ids; nil means crypto/rand.
	Rand io.Reader
	// Max is how many users the account may hold; 0 means MaxUsers.
	Max int
}

func (s *Service) now() time.Time { return domain.Now(s.Now).Truncate(time.Second) }

// CreateInput is what CreateUser takes; only Name is required.
type CreateInput struct {
	Name, DisplayName, MobilePhone, Email, Comments string
}

// CreateUser checks in and creates the user. A DisplayName left out is the
// name, as RAM shows it.
func (s *Service) CreateUser(ctx context.Context, in CreateInput) (User, error) {
	if in.Name == "" {
		return User{}, domain.Missing("UserName")
	}
	now := s.now()
	u := User{Name: in.Name, DisplayName: in.DisplayName, MobilePhone: in.MobilePhone, Email: in.Email,
		Comments: in.Comments, Created: now, Updated: now}
	if u.DisplayName == "" {
		u.DisplayName = u.Name
	}
	if err := check(u, ""); err != nil {
		return User{}, err
	}
	max := s.Max
	if max == 0 {
		max = MaxUsers
	}
	for attempt := 0; ; attempt++ {
		u.ID = strconv.FormatInt(domain.NumericID(s.Rand, IDDigits), 10)
		err := s.Store.CreateUser(ctx, u, max)
		if errors.Is(err, domain.ErrExists) && attempt < 5 {
			continue // an id clash: draw again
		}
		if err != nil {
			return User{}, err
		}
		return u, nil
	}
}

// check checks u's fields as sent in parameters named with prefix ("" or "New").
func check(u User, prefix string) error {
	if err := CheckName(prefix+"UserName", u.Name); err != nil {
		return err
	}
	if u.DisplayName != "" {
		if err := checkDisplayName(prefix+"DisplayName", u.DisplayName); err != nil {
			return err
		}
	}
	if u.MobilePhone != "" {
		if err := checkMobilePhone(prefix+"MobilePhone", u.MobilePhone); err != nil {
			return err
		}
	}
	if u.Email != "" {
		if err := checkEmail(prefix+"Email", u.Email); err != nil {
			return err
		}
	}
	return domain.CheckLength(prefix+"Comments", u.Comments, MaxCommentsLen)
}

// User returns the user of that name, or ErrUserNotFound.
func (s *Service) User(ctx context.Context, name string) (User, error) {
	if name == "" {
		return User{}, domain.Missing("UserName")
	}
	if err := CheckName("UserName", name); err != nil {
		return User{}, err
	}
	return s.Store.User(ctx, name)
}

// ListUsers returns a page of users in name order and, when more follow,
// the marker of the next page ("" on the last).
func (s *Service) ListUsers(ctx context.Context, m domain.Marker) ([]User, string, error) {
	list, err := s.Store.ListUsers(ctx, m)
	if err != nil {
		return nil, "", err
	}
	page, next := domain.MarkerPage(list, m, func(x User) string { return x.Name })
	return page, next, nil
}

// UpdateInput is what UpdateUser takes: a nil field is left as it is; an
// empty one clears the field (a name cannot be cleared: an empty NewName
// keeps it, as a NewUserName equal to the current name does).
type UpdateInput struct {
	NewName, NewDisplayName, NewMobilePhone, NewEmail, NewComments *string
}

// UpdateUser changes the user named name and returns it as it is now.
func (s *Service) UpdateUser(ctx context.Context, name string, in UpdateInput) (User, error) {
	u, err := s.User(ctx, name)
	if err != nil {
		return User{}, err
	}
	if in.NewName != nil && *in.NewName != "" {
		u.Name = *in.NewName
	}
	for dst, src := range map[*string]*string{&u.DisplayName: in.NewDisplayName, &u.MobilePhone: in.NewMobilePhone,
		&u.Email: in.NewEmail, &u.Comments: in.NewComments} {
		if src != nil {
			*dst = *src
		}
	}
	if err := check(u, "New"); err != nil {
		return User{}, err
	}
	u.Updated = s.now()
	if err := s.Store.UpdateUser(ctx, name, u); err != nil {
		return User{}, err
	}
	return u, nil
}

// DeleteUser deletes the user named name: ErrUserNotFound, or an error
// matching ErrDeleteConflict while it has access keys, groups or policies.
func (s *Service) DeleteUser(ctx context.Context, name string) error {
	if _, err := s.User(ctx, name); err != nil {
		return err
	}
	return s.Store.DeleteUser(ctx, name)
}

// DeleteLoginProfile answers ErrNoLoginProfile for a user that exists (no
// esacert user has a console password), ErrUserNotFound otherwise.
func (s *Service) DeleteLoginProfile(ctx context.Context, name string) error {
	if _, err := s.User(ctx, name); err != nil {
		return err
	}
	return ErrNoLoginProfile
}

// UnbindMFADevice answers ErrNoMFADevice for a user that exists (no
// esacert user has an MFA device), ErrUserNotFound otherwise.
func (s *Service) UnbindMFADevice(ctx context.Context, name string) error {
	if _, err := s.User(ctx, name); err != nil {
		return err
	}
	return ErrNoMFADevice
}
