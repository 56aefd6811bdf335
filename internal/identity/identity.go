package identity

import (
	"time"

	"github.com/esacert/esacert/internal/policy"
)

// Kind is what signs a request.
type Kind int

const (
	// Root is the account's root key: every right, no policy.
	Root Kind = iota
	// User is a RAM user's access key: the policies attached to the user
	// and to its groups.
	User
	// Session is STS credentials of a role: the role's policies, narrowed
	// by the session policy.
	Session
)

// Identity is who signs a request: the principal, the secret its
// signature is checked with, and the policies that decide what it may do.
// An Identity is immutable and shared between requests: never change it.
type Identity struct {
	Kind    Kind
	Account string // the account id
	KeyID   string // the access key id the request is signed with
	// Secret is the access key's secret (for an STS key, derived from its
	// token): for checking the signature, never for a log line or an answer.
	Secret   string
	UserID   string // a user's
	UserName string // a user's
	// A session's role and session name, and when it expires.
	RoleID, RoleName, SessionName string
	Expires                       time.Time

	policies []*policy.Policy // the identity's policies, default versions
	session  *policy.Policy   // a session's policy, nil when it has none
}

// ARN is the identity's ARN: acs:ram::<account>:root, …:user/<name> or
// …:assumed-role/<role>/<session>.
func (id *Identity) ARN() string {
	switch id.Kind {
	case User:
		return "acs:ram::" + id.Account + ":user/" + id.UserName
	case Session:
		return "acs:ram::" + id.Account + ":assumed-role/" + id.RoleName + "/" + id.SessionName
	}
	return "acs:ram::" + id.Account + ":root"
}

// Evaluate decides req for the identity with policy.Evaluate: the root
// key is allowed everything; a user has what its policies allow; a
// session what its role's policies allow and its session policy (if any)
// allows too. An explicit deny in either is ExplicitDeny.
func (id *Identity) Evaluate(req policy.Request) policy.Decision {
	if id.Kind == Root {
		return policy.Allowed
	}
	d := policy.Evaluate(req, id.policies...)
	if d != policy.Allowed || id.session == nil {
		return d
	}
	return policy.Evaluate(req, id.session)
}
