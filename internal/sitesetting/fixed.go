package sitesetting

import (
	"slices"
	"strings"

	"github.com/esacert/esacert/internal/domain"
)

// Fixed is one parameter of a feature esacert has no behaviour for, pinned
// to the value that leaves the feature off (or at ESA's default): its Get
// answers Off, and an Update may send Off (or nothing, or "") but never a
// value that would turn the feature on, which is refused with
// ErrUnsupported rather than accepted and ignored.
type Fixed struct {
	Feature string // what ESA calls it, for messages: "cross-border optimization"
	Param   string // the request parameter: "Enable"
	Off     string // the one value accepted (besides ""): "off"
	// Valid are the values ESA documents for Param; another is invalid
	// (domain.ErrInvalid). Nil takes any value (free text, ids): every one
	// but Off is then unsupported.
	Valid []string
	// Fold compares case-insensitively (the Paused-style booleans).
	Fold bool
}

// Check checks the value a request sent for f.Param ("" when absent).
func (f Fixed) Check(v string) error {
	if v == "" || v == f.Off || f.Fold && strings.EqualFold(v, f.Off) {
		return nil
	}
	if f.Valid != nil && !slices.Contains(f.Valid, v) && !(f.Fold && slices.ContainsFunc(f.Valid, func(s string) bool { return strings.EqualFold(s, v) })) {
		return domain.Invalid(f.Param, "must be one of "+strings.Join(f.Valid, ", "))
	}
	return &domain.ParamError{Param: f.Param, Err: ErrUnsupported, Reason: f.reason()}
}

func (f Fixed) reason() string {
	if f.Off == "" {
		return f.Feature + " is not supported; leave " + f.Param + " out or empty"
	}
	return f.Feature + " is not supported; " + f.Param + " may only be " + f.Off + " (or left out)"
}

// Unsupported is the error of an action that would turn on a feature that
// takes no parameter to check (ActivateVersionManagement): param names
// what the request asked for.
func Unsupported(feature, param string) error {
	return &domain.ParamError{Param: param, Err: ErrUnsupported, Reason: feature + " is not supported"}
}
