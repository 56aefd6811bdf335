package session

import (
	"errors"
	"fmt"

	"github.com/esacert/esacert/internal/domain"
)

// Sentinel errors of STS. Callers match them with errors.Is; the API layer
// maps each to a Code and an HTTP status in its one error table.
var (
	// ErrTokenMissing: STS credentials were used without their token.
	ErrTokenMissing = errors.New("security token is missing")
	// ErrTokenMalformed: the token is not one this service issued, or was changed.
	ErrTokenMalformed = errors.New("security token is malformed")
	// ErrTokenExpired: the session is over.
	ErrTokenExpired = errors.New("security token is expired")
	// ErrTokenMismatch: the token belongs to another access key.
	ErrTokenMismatch = errors.New("security token does not belong to the access key")
	// ErrRoleGone: the session's role was deleted; the session ended with it.
	ErrRoleGone = errors.New("the session's role no longer exists")
	// ErrRootCaller: the account's root key may not assume roles.
	ErrRootCaller = errors.New("roles may not be assumed by the root account")
	// ErrNotTrusted: the role's trust policy does not let the caller assume it.
	ErrNotTrusted = errors.New("the role's trust policy does not allow the caller")
	// ErrPolicyGrammar and ErrPolicySize: the session policy (Policy) is
	// not a valid policy, or is too long; both match domain.ErrInvalid.
	ErrPolicyGrammar = fmt.Errorf("%w: the session policy is malformed", domain.ErrInvalid)
	ErrPolicySize    = fmt.Errorf("%w: the session policy is too long", domain.ErrInvalid)
)
