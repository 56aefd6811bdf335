package domain

import (
	"errors"
	"fmt"
)

// Sentinel errors every noun shares. Callers match them with errors.Is; the
// API layer maps each to a Code and an HTTP status in its one error table.
var (
	// ErrMissing marks a required parameter that was not given (inside a ParamError).
	ErrMissing = errors.New("parameter is missing")
	// ErrInvalid marks a parameter that is malformed or out of range (inside a ParamError).
	ErrInvalid = errors.New("parameter is invalid")

	// ErrNotFound and ErrExists are what a store returns for a missing row and a
	// uniqueness violation; the services turn them into their nouns' specific errors.
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	// ErrConflict is a conditional write that found the row changed.
	ErrConflict = errors.New("changed meanwhile")

	// ErrKeyUnavailable: a sealed private key or secret cannot be opened
	// (wrong master key).
	ErrKeyUnavailable = errors.New("private key cannot be unsealed")
)

// ParamError names the request parameter that caused Err. Err is ErrMissing,
// ErrInvalid or a more specific sentinel; Reason, when set, is a short public
// explanation (it must never contain secret material).
type ParamError struct {
	Param  string
	Err    error
	Reason string
}

func (e *ParamError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("parameter %s: %v: %s", e.Param, e.Err, e.Reason)
	}
	return fmt.Sprintf("parameter %s: %v", e.Param, e.Err)
}

func (e *ParamError) Unwrap() error { return e.Err }

// Missing returns a ParamError for a required parameter that is absent.
func Missing(param string) error { return &ParamError{Param: param, Err: ErrMissing} }

// Invalid returns a ParamError for a malformed parameter, with a public reason.
func Invalid(param, reason string) error {
	return &ParamError{Param: param, Err: ErrInvalid, Reason: reason}
}

// Specific causes of an invalid parameter, for the APIs (RAM) that name
// them in their Codes (InvalidParameter.<Param>.Length and so on). Each
// wraps ErrInvalid, so a caller that does not care sees ErrInvalid.
var (
	// ErrTooLong: the value is empty or longer than its limit.
	ErrTooLong = fmt.Errorf("%w: beyond the length limit", ErrInvalid)
	// ErrBadChars: the value holds characters it may not.
	ErrBadChars = fmt.Errorf("%w: invalid characters", ErrInvalid)
	// ErrBadFormat: the value is not of the form it must have.
	ErrBadFormat = fmt.Errorf("%w: wrong format", ErrInvalid)
)

// CheckName checks a name parameter: 1 to max characters (runes), each
// accepted by allowed. It returns a ParamError with ErrTooLong or
// ErrBadChars, the reason saying which characters are allowed.
func CheckName(param, v string, max int, allowed func(r rune) bool, describe string) error {
	n := 0
	for _, r := range v {
		n++
		if !allowed(r) {
			return &ParamError{Param: param, Err: ErrBadChars, Reason: "may hold " + describe + " only"}
		}
	}
	if n == 0 || n > max {
		return &ParamError{Param: param, Err: ErrTooLong, Reason: fmt.Sprintf("must be 1 to %d characters", max)}
	}
	return nil
}

// CheckLength checks an optional text parameter: at most max characters.
func CheckLength(param, v string, max int) error {
	if n := len([]rune(v)); n > max {
		return &ParamError{Param: param, Err: ErrTooLong, Reason: fmt.Sprintf("must be at most %d characters", max)}
	}
	return nil
}
