package group

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/user"
)

// Service holds the use cases on groups. Its fields are set once, before
// first use; after that a Service is safe for concurrent use.
type Service struct {
	// Store and Memberships store groups and memberships; both required.
	Store       Store
	Memberships MemberStore
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Rand is the source of ids; nil means crypto/rand.
	Rand io.Reader
}

func (s *Service) now() time.Time { return domain.Now(s.Now).Truncate(time.Second) }

// idAlphabet is what a group id is drawn from after its "g-".
const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func (s *Service) groupID() string {
	b := make([]byte, 16)
	domain.Random(s.Rand, b)
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return "g-" + string(b)
}

// CreateGroup checks the name and comments and creates the group.
func (s *Service) CreateGroup(ctx context.Context, name, comments string) (Group, error) {
	if name == "" {
		return Group{}, domain.Missing("GroupName")
	}
	if err := CheckName("GroupName", name); err != nil {
		return Group{}, err
	}
	if err := domain.CheckLength("Comments", comments, MaxCommentsLen); err != nil {
		return Group{}, err
	}
	now := s.now()
	g := Group{Name: name, Comments: comments, Created: now, Updated: now}
	for attempt := 0; ; attempt++ {
		g.ID = s.groupID()
		err := s.Store.CreateGroup(ctx, g, MaxGroups)
		if errors.Is(err, domain.ErrExists) && attempt < 5 {
			continue
		}
		if err != nil {
			return Group{}, err
		}
		return g, nil
	}
}

// Group returns the group of that name, or ErrGroupNotFound.
func (s *Service) Group(ctx context.Context, name string) (Group, error) {
	if name == "" {
		return Group{}, domain.Missing("GroupName")
	}
	if err := CheckName("GroupName", name); err != nil {
		return Group{}, err
	}
	return s.Store.Group(ctx, name)
}

// ListGroups returns a page of groups in name order and the marker of the
// next page ("" on the last).
func (s *Service) ListGroups(ctx context.Context, m domain.Marker) ([]Group, string, error) {
	list, err := s.Store.ListGroups(ctx, m)
	if err != nil {
		return nil, "", err
	}
	page, next := domain.MarkerPage(list, m, func(x Group) string { return x.Name })
	return page, next, nil
}

// UpdateGroup renames the group and/or changes its comments (nil: kept).
func (s *Service) UpdateGroup(ctx context.Context, name string, newName, newComments *string) (Group, error) {
	g, err := s.Group(ctx, name)
	if err != nil {
		return Group{}, err
	}
	if newName != nil && *newName != "" {
		if err := CheckName("NewGroupName", *newName); err != nil {
			return Group{}, err
		}
		g.Name = *newName
	}
	if newComments != nil {
		if err := domain.CheckLength("NewComments", *newComments, MaxCommentsLen); err != nil {
			return Group{}, err
		}
		g.Comments = *newComments
	}
	g.Updated = s.now()
	if err := s.Store.UpdateGroup(ctx, name, g); err != nil {
		return Group{}, err
	}
	return g, nil
}

// DeleteGroup deletes the group: ErrGroupNotFound, or an error matching
// ErrDeleteConflict while it has members or policies.
func (s *Service) DeleteGroup(ctx context.Context, name string) error {
	if _, err := s.Group(ctx, name); err != nil {
		return err
	}
	return s.Store.DeleteGroup(ctx, name)
}

// checkPair checks a group name and a user name as requests send them.
func checkPair(groupName, userName string) error {
	if groupName == "" {
		return domain.Missing("GroupName")
	}
	if userName == "" {
		return domain.Missing("UserName")
	}
	if err := CheckName("GroupName", groupName); err != nil {
		return err
	}
	return user.CheckName("UserName", userName)
}

// AddUser puts the user in the group.
func (s *Service) AddUser(ctx context.Context, groupName, userName string) error {
	if err := checkPair(groupName, userName); err != nil {
		return err
	}
	return s.Memberships.AddMember(ctx, groupName, userName, MaxGroupsPerUser, s.now())
}

// RemoveUser takes the user out of the group.
func (s *Service) RemoveUser(ctx context.Context, groupName, userName string) error {
	if err := checkPair(groupName, userName); err != nil {
		return err
	}
	return s.Memberships.RemoveMember(ctx, groupName, userName)
}

// GroupsOfUser lists the groups the user is in.
func (s *Service) GroupsOfUser(ctx context.Context, userName string) ([]Membership, error) {
	if userName == "" {
		return nil, domain.Missing("UserName")
	}
	if err := user.CheckName("UserName", userName); err != nil {
		return nil, err
	}
	return s.Memberships.GroupsOfUser(ctx, userName)
}

// Members returns a page of the group's members and the next page's marker.
func (s *Service) Members(ctx context.Context, groupName string, m domain.Marker) ([]Member, string, error) {
	if _, err := s.Group(ctx, groupName); err != nil {
		return nil, "", err
	}
	list, err := s.Memberships.Members(ctx, groupName, m)
	if err != nil {
		return nil, "", err
	}
	page, next := domain.MarkerPage(list, m, func(x Member) string { return x.UserName })
	return page, next, nil
}
