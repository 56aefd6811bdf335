package sitesetting

import (
	"context"
	"slices"
	"strings"

	"github.com/esacert/esacert/internal/domain"
)

// Fixed is one parameter of a feature esacert has no behaviour for, pinned
// to the value that leaves the feature off (or at ESA's default): an
// Update may send Off (or nothing, or "") but never a value that would
// turn the feature on, which is refused with ErrUnsupported rather than
// accepted and ignored. What its Get answers: see FeatureValue.Key.
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
	return f.Refuse()
}

// Refuse is the error of a value of f.Param that would turn the feature on:
// ErrUnsupported in a domain.ParamError naming Param, whose Reason says what
// Param may be. Check returns it for such a value; a caller that tells on
// from off itself (a JSON boolean, free text) returns it directly.
func (f Fixed) Refuse() error {
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

// FeatureValue is what an Update of a feature esacert has no behaviour for
// sent for one of the feature's parameters.
type FeatureValue struct {
	Rule  Fixed  // what the parameter may be
	Value string // as sent; "" when empty or left out
	Sent  bool   // the request named the parameter (a left-out one is left as it is)
	// Key, when not "", is where Config.Features keeps the value sent
	// (FeatureKey), for the Get to answer back; "" for a parameter whose
	// Get answers ESA's default whatever was sent.
	Key string
}

// SetFeatures checks the values an Update of a feature esacert has no
// behaviour for sent (Fixed.Check: the first error is returned and nothing
// is stored), then keeps each one sent that has a Key: the value as sent,
// or never set when it is "". A site that does not exist is
// site.ErrSiteNotFound.
func (s *Service) SetFeatures(ctx context.Context, siteID int64, values []FeatureValue) error {
	keep := false
	for _, v := range values {
		if err := v.Rule.Check(v.Value); err != nil {
			return err
		}
		keep = keep || v.Sent && v.Key != ""
	}
	if !keep {
		return s.Check(ctx, siteID)
	}
	_, err := s.Store.UpdateSiteConfig(ctx, siteID, func(c *Config) error {
		for _, v := range values {
			if v.Sent && v.Key != "" {
				c.SetFeature(v.Key, v.Value)
			}
		}
		return nil
	})
	return err
}
