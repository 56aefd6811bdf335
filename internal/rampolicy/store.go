package rampolicy

import (
	"context"
	"time"

	"github.com/esacert/esacert/internal/domain"
)

// Store keeps custom policies. Methods are safe for concurrent use and
// return domain sentinels.
type Store interface {
	// CreatePolicy inserts the custom policy p with its first version v
	// (its default): ErrPolicyExists, or ErrPolicyLimit at max policies.
	CreatePolicy(ctx context.Context, p Policy, v Version, max int) error
	// Policy returns the custom policy (AttachmentCount and Tags filled)
	// and its default version, or ErrPolicyNotFound.
	Policy(ctx context.Context, name string) (Policy, Version, error)
	// ListPolicies returns up to m.Limit+1 custom policies named after
	// m.After, in name order, AttachmentCount and Tags filled.
	ListPolicies(ctx context.Context, m domain.Marker) ([]Policy, error)
	// SetDescription changes a custom policy's description and update
	// time, or returns ErrPolicyNotFound.
	SetDescription(ctx context.Context, name, description string, now time.Time) error
	// DeletePolicy removes the custom policy: ErrPolicyNotFound,
	// ErrAttachedToUser/Group/Role while attached, ErrHasVersions while it
	// has other versions than its default unless cascade (then they go too).
	DeletePolicy(ctx context.Context, name string, cascade bool) error
	// AttachmentCount counts the principals a policy is attached to.
	AttachmentCount(ctx context.Context, policyType, name string) (int, error)
}

// VersionStore keeps the versions of custom policies.
type VersionStore interface {
	// CreateVersion adds a version with the next number and v's document
	// and time, making it the default when setDefault: ErrPolicyNotFound,
	// or ErrVersionLimit when the policy has max versions, unless rotate
	// (then its oldest version that is not the default goes first).
	CreateVersion(ctx context.Context, name string, v Version, setDefault, rotate bool, max int) (Version, error)
	// Version returns one version: ErrPolicyNotFound or ErrVersionNotFound.
	Version(ctx context.Context, name, id string) (Version, error)
	// Versions lists the policy's versions, newest first, or ErrPolicyNotFound.
	Versions(ctx context.Context, name string) ([]Version, error)
	// DeleteVersion removes a version: ErrPolicyNotFound,
	// ErrVersionNotFound, or ErrDefaultVersion for the default one.
	DeleteVersion(ctx context.Context, name, id string) error
	// SetDefaultVersion makes a version the default: ErrPolicyNotFound or
	// ErrVersionNotFound.
	SetDefaultVersion(ctx context.Context, name, id string, now time.Time) error
}

// AttachmentStore keeps which policy is attached to which principal
// (kind KindUser, KindGroup or KindRole, named as the principal is now).
type AttachmentStore interface {
	// Attach attaches the policy: user.ErrUserNotFound,
	// group.ErrGroupNotFound or role.ErrRoleNotFound for a missing
	// principal, ErrPolicyNotFound for a missing custom policy (a system
	// policy is checked by the caller), ErrUserAttached (…Group…, …Role…)
	// when it is attached already, ErrAttachLimit when the principal has
	// max policies of that type.
	Attach(ctx context.Context, policyType, policyName, kind, principal string, max int, now time.Time) error
	// Detach detaches it: the principal's not-found error, or
	// ErrUserNotAttached (…Group…, …Role…).
	Detach(ctx context.Context, policyType, policyName, kind, principal string) error
	// PoliciesOf lists the policies attached to the principal, by type
	// then name (custom ones with their description and default version),
	// or the principal's not-found error.
	PoliciesOf(ctx context.Context, kind, principal string) ([]Attached, error)
	// Entities lists the principals the policy is attached to.
	Entities(ctx context.Context, policyType, policyName string) ([]Entity, error)
}

// TagStore keeps the tags of resources (see domain.TagStore).
type TagStore = domain.TagStore
