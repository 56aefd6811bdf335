package role

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/policy"
)

// Role is a RAM role. ID is a 16-digit number in decimal; Name is unique
// in the account and never changes.
type Role struct {
	ID                 string
	Name               string
	Description        string
	TrustDocument      string // the AssumeRolePolicyDocument, as sent
	MaxSessionDuration int    // seconds
	Created            time.Time
	Updated            time.Time
	Tags               []domain.Tag
}

// ARN is the role's ARN in account: acs:ram::<account>:role/<name>.
func (r Role) ARN(account string) string { return "acs:ram::" + account + ":role/" + r.Name }

// Limits.
const (
	MaxNameLen         = 64
	MaxDescriptionLen  = 1024
	MaxRoles           = 1000
	DefaultMaxSession  = 3600
	MinMaxSession      = 3600
	MaxMaxSession      = 43200
	IDDigits           = 16
	MaxTrustDocumentSz = 2048
)

// CheckName checks a role name sent in param: 1 to 64 letters, digits, '.'
// and '-'.
func CheckName(param, name string) error {
	return domain.CheckName(param, name, MaxNameLen, func(r rune) bool {
		return r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune(".-_", r))
	}, "letters, digits, '.', '-' and '_'")
}

// CheckTrust checks a trust policy sent in param and returns it compiled.
func CheckTrust(param, doc string) (*policy.Trust, error) {
	if doc == "" {
		return nil, domain.Missing(param)
	}
	if len(doc) > MaxTrustDocumentSz {
		return nil, &domain.ParamError{Param: param, Err: domain.ErrTooLong,
			Reason: fmt.Sprintf("must be at most %d bytes", MaxTrustDocumentSz)}
	}
	return policy.ParseTrust(doc)
}

func checkMaxSession(param string, n int) error {
	if n < MinMaxSession || n > MaxMaxSession {
		return domain.Invalid(param, fmt.Sprintf("must be between %d and %d seconds", MinMaxSession, MaxMaxSession))
	}
	return nil
}
