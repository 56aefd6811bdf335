package rampolicy

import (
	"errors"
	"fmt"

	"github.com/esacert/esacert/internal/policy"
)

// Sentinel errors of RAM policies. Callers match them with errors.Is; the
// API layer maps each to a Code and an HTTP status in its one error table.
var (
	// ErrPolicyNotFound: no policy of that name and type.
	ErrPolicyNotFound = errors.New("policy not found")
	// ErrPolicyExists: a policy of that name exists already (custom or system).
	ErrPolicyExists = errors.New("policy already exists")
	// ErrPolicyLimit: the account has as many custom policies as it may.
	ErrPolicyLimit = errors.New("too many policies")
	// ErrMalformed is policy.ErrMalformed: the document is not a valid
	// policy; the error's text after "policy: malformed policy document: "
	// is its public reason.
	ErrMalformed = policy.ErrMalformed
	// ErrSystemPolicy: system policies cannot be changed or deleted; as
	// custom policies they do not exist, so it matches ErrPolicyNotFound.
	ErrSystemPolicy = fmt.Errorf("%w: system policies are read-only", ErrPolicyNotFound)
	// ErrVersionNotFound: the policy has no version with that id.
	ErrVersionNotFound = errors.New("policy version not found")
	// ErrVersionLimit: the policy has MaxVersions versions.
	ErrVersionLimit = errors.New("the policy has as many versions as a policy may")
	// ErrDefaultVersion: the default version cannot be deleted.
	ErrDefaultVersion = errors.New("the default version cannot be deleted")
	// ErrDeleteConflict: the policy is still attached, or has versions
	// besides its default; the errors below say which, each matches it.
	ErrDeleteConflict  = errors.New("the policy cannot be deleted")
	ErrAttachedToUser  = fmt.Errorf("%w: it is attached to users", ErrDeleteConflict)
	ErrAttachedToGroup = fmt.Errorf("%w: it is attached to groups", ErrDeleteConflict)
	ErrAttachedToRole  = fmt.Errorf("%w: it is attached to roles", ErrDeleteConflict)
	ErrHasVersions     = fmt.Errorf("%w: it has versions besides its default", ErrDeleteConflict)
	// Attach's and Detach's errors, per kind of principal.
	ErrUserAttached     = errors.New("the policy is attached to the user already")
	ErrGroupAttached    = errors.New("the policy is attached to the group already")
	ErrRoleAttached     = errors.New("the policy is attached to the role already")
	ErrUserNotAttached  = errors.New("the policy is not attached to the user")
	ErrGroupNotAttached = errors.New("the policy is not attached to the group")
	ErrRoleNotAttached  = errors.New("the policy is not attached to the role")
	// ErrAttachLimit: the principal has as many policies of that type as it
	// may; the errors below say which kind of principal, each matches it.
	ErrAttachLimit      = errors.New("too many policies attached")
	ErrUserPolicyLimit  = fmt.Errorf("%w to the user", ErrAttachLimit)
	ErrGroupPolicyLimit = fmt.Errorf("%w to the group", ErrAttachLimit)
	ErrRolePolicyLimit  = fmt.Errorf("%w to the role", ErrAttachLimit)
)
