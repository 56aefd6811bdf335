package group

import (
	"strings"
	"time"
	"unicode"

	"github.com/esacert/esacert/internal/domain"
)

// Group is a RAM group. ID is "g-" and 16 random characters; Name is
// unique in the account and may change, ID never does.
type Group struct {
	ID       string
	Name     string
	Comments string
	Created  time.Time
	Updated  time.Time
}

// Member is a user as a group lists it.
type Member struct {
	UserName    string
	DisplayName string
	Joined      time.Time
}

// Membership is a group as a user's list of groups shows it.
type Membership struct {
	Group
	Joined time.Time
}

// Limits.
const (
	MaxNameLen       = 64
	MaxCommentsLen   = 128
	MaxGroups        = 1000
	MaxGroupsPerUser = 5
)

// CheckName checks a group name sent in param: 1 to 64 letters, digits and
// hyphens (a ParamError with ErrTooLong or ErrBadChars).
func CheckName(param, name string) error {
	return domain.CheckName(param, name, MaxNameLen, func(r rune) bool {
		return r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-_.", r))
	}, "letters, digits, '-', '_' and '.'")
}
