package user

import (
	"strings"
	"time"
	"unicode"

	"github.com/esacert/esacert/internal/domain"
)

// User is a RAM user. ID is a 16-digit number in decimal; Name is unique
// in the account and may change (UpdateUser), ID never does.
type User struct {
	ID          string
	Name        string
	DisplayName string
	MobilePhone string
	Email       string
	Comments    string
	Created     time.Time
	Updated     time.Time
	LastLogin   time.Time // zero: never (esacert has no console login)
}

// ARN is the user's ARN in account.
func (u User) ARN(account string) string { return "acs:ram::" + account + ":user/" + u.Name }

// Limits of a user's fields.
const (
	MaxNameLen        = 64
	MaxDisplayNameLen = 128
	MaxCommentsLen    = 128
)

// CheckName checks a user name sent in param: 1 to 64 letters, digits and
// . - _ @ (a ParamError with ErrTooLong or ErrBadChars).
func CheckName(param, name string) error {
	return domain.CheckName(param, name, MaxNameLen, func(r rune) bool {
		return r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune(".-_@", r))
	}, "letters, digits, '.', '-', '_' and '@'")
}

// checkDisplayName: 1 to 128 printable characters.
func checkDisplayName(param, v string) error {
	return domain.CheckName(param, v, MaxDisplayNameLen, func(r rune) bool { return unicode.IsPrint(r) }, "printable characters")
}

// checkEmail: something@something, printable, at most 128 characters.
func checkEmail(param, v string) error {
	local, host, ok := strings.Cut(v, "@")
	if !ok || local == "" || host == "" || strings.ContainsAny(v, " \t\r\n") || len(v) > 128 {
		return &domain.ParamError{Param: param, Err: domain.ErrBadFormat, Reason: "must be an email address"}
	}
	return nil
}

// checkMobilePhone: <country code>-<number>, digits only, as 86-1868888xxxx.
func checkMobilePhone(param, v string) error {
	cc, num, ok := strings.Cut(v, "-")
	if !ok || !digits(cc, 1, 4) || !digits(num, 4, 20) {
		return &domain.ParamError{Param: param, Err: domain.ErrBadFormat, Reason: "must be <country code>-<number>, such as 86-18600008888"}
	}
	return nil
}

func digits(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
