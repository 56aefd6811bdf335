package group

import (
	"context"
	"time"

	"github.com/esacert/esacert/internal/domain"
)

// Store is what the group use cases need from storage. Methods are safe
// for concurrent use and return domain sentinels.
type Store interface {
	// CreateGroup inserts g: ErrGroupExists when the name is taken,
	// domain.ErrExists when the id is, ErrGroupLimit at max groups (0: no limit).
	CreateGroup(ctx context.Context, g Group, max int) error
	// Group returns the group of that name, or ErrGroupNotFound.
	Group(ctx context.Context, name string) (Group, error)
	// ListGroups returns up to m.Limit+1 groups named after m.After, in name order.
	ListGroups(ctx context.Context, m domain.Marker) ([]Group, error)
	// UpdateGroup overwrites the group now named name with g (id and
	// creation time kept): ErrGroupNotFound, or ErrGroupExists for a name
	// that another group has.
	UpdateGroup(ctx context.Context, name string, g Group) error
	// DeleteGroup removes the group: ErrGroupNotFound, or ErrHasMembers or
	// ErrHasPolicy while it has members or policies.
	DeleteGroup(ctx context.Context, name string) error
}

// MemberStore keeps who is in which group.
type MemberStore interface {
	// AddMember puts the user in the group: ErrGroupNotFound,
	// user.ErrUserNotFound, ErrMember, or ErrMembershipLimit when the user
	// is in max groups already.
	AddMember(ctx context.Context, groupName, userName string, max int, now time.Time) error
	// RemoveMember takes the user out of the group: ErrGroupNotFound,
	// user.ErrUserNotFound or ErrNotMember.
	RemoveMember(ctx context.Context, groupName, userName string) error
	// GroupsOfUser lists the user's groups in name order, or user.ErrUserNotFound.
	GroupsOfUser(ctx context.Context, userName string) ([]Membership, error)
	// Members returns up to m.Limit+1 members of the group whose names sort
	// after m.After, in name order, or ErrGroupNotFound.
	Members(ctx context.Context, groupName string, m domain.Marker) ([]Member, error)
}
