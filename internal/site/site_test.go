package site

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/net/publicsuffix"

	"github.com/esacert/esacert/internal/domain"
)

func TestCanonicalSiteName(t *testing.T) {
	tests := []struct {
		name, in, want string
		wantErr        error
	}{
		{"ok/plain", "example.com", "example.com", nil},
		{"ok/upper_and_dot", " Example.COM. ", "example.com", nil},
		{"ok/under_public_suffix", "example.co.uk", "example.co.uk", nil},
		{"ok/punycode", "xn--fiqs8s.cn", "xn--fiqs8s.cn", nil},
		{"ok/hyphen_digits", "a-1.org", "a-1.org", nil},
		{"fail/subdomain", "shop.example.com", "", domain.ErrInvalid},
		{"fail/empty", "", "", domain.ErrMissing},
		{"fail/one_label", "localhost", "", domain.ErrInvalid},
		{"fail/public_suffix", "co.uk", "", domain.ErrInvalid},
		{"fail/tld", "com", "", domain.ErrInvalid},
		{"fail/wildcard", "*.example.com", "", domain.ErrInvalid},
		{"fail/ip", "192.168.0.1", "", domain.ErrInvalid},
		{"fail/empty_label", "a..com", "", domain.ErrInvalid},
		{"fail/hyphen_edge", "-a.com", "", domain.ErrInvalid},
		{"fail/underscore", "a_b.com", "", domain.ErrInvalid},
		{"fail/unicode", "例子.com", "", domain.ErrInvalid},
		{"fail/long_label", strings.Repeat("a", 64) + ".com", "", domain.ErrInvalid},
		{"fail/too_long", strings.Repeat("abcdefghi.", 26) + "com", "", domain.ErrInvalid},
		{"fail/numeric_tld", "example.123", "", domain.ErrInvalid},
		{"fail/space", "exa mple.com", "", domain.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CanonicalSiteName("SiteName", tt.in, publicsuffix.PublicSuffix)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("CanonicalSiteName(%q) error = %v, want %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("CanonicalSiteName(%q) = %q, want %q", tt.in, got, tt.want)
			}
			var pe *domain.ParamError
			if err != nil && (!errors.As(err, &pe) || pe.Param != "SiteName") {
				t.Errorf("error %v does not name SiteName", err)
			}
		})
	}
}

func TestResolvePlan(t *testing.T) {
	tests := []struct {
		name, planName, code string
		want                 string // plan name, or "" for an error
		tier                 string
	}{
		{"ok/name", "basic", "", "basic", TierBasic},
		{"ok/intl_name", "vipplan_intl", "", "vipplan_intl", TierAdvanced},
		{"ok/code_only", "", "standardplan", "medium", TierStandard},
		{"ok/name_and_code", "high", "advancedplan", "high", TierAdvanced},
		{"ok/enterprise", "enterpriseplan", "", "enterpriseplan", TierEnterprise},
		{"fail/none", "", "", "", ""},
		{"fail/unknown", "gold", "", "", ""},
		{"fail/unknown_code", "", "goldplan", "", ""},
		{"fail/mismatch", "basic", "advancedplan", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := resolvePlan(tt.planName, tt.code)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("resolvePlan(%q, %q) = %+v, want an error", tt.planName, tt.code, p)
				}
				return
			}
			if err != nil || p.Name != tt.want || p.Tier != tt.tier {
				t.Fatalf("resolvePlan(%q, %q) = %+v, %v; want %s (%s)", tt.planName, tt.code, p, err, tt.want, tt.tier)
			}
		})
	}
}

// TestUpgradeTarget: the plan an upgrade moves to, by name or by code in the
// instance's own vocabulary, and the moves that are refused.
func TestUpgradeTarget(t *testing.T) {
	plan := func(name string) Plan {
		p, ok := LookupPlan(name)
		if !ok {
			t.Fatalf("no plan %q", name)
		}
		return p
	}
	for _, c := range []struct{ cur, name, code, want, refused string }{
		{cur: "entranceplan", name: "basic", want: "basic"},
		{cur: "basic", name: "medium", want: "medium"},
		{cur: "basic", code: "advancedplan", want: "high"},
		{cur: "entranceplan_intl", code: "standardplan", want: "basicplan_intl"},
		{cur: "basicplan_intl", name: "vipplan_intl", want: "vipplan_intl"},
		{cur: "high", code: "advancedplan", want: "high"}, // no change: not refused
		{cur: "medium", name: "basic", refused: "TargetPlanName"},
		{cur: "high", code: "basicplan", refused: "TargetPlanCode"},
		{cur: "entranceplan_intl", code: "basicplan", refused: "TargetPlanCode"}, // no international basic plan
		{cur: "basic", name: "basicplan_intl", refused: "TargetPlanName"},
		{cur: "high", name: "enterpriseplan", refused: "TargetPlanName"},
		{cur: "basic", name: "medium", code: "advancedplan", refused: "TargetPlanCode"},
	} {
		got, err := upgradeTarget(plan(c.cur), c.name, c.code)
		var pe *domain.ParamError
		switch {
		case c.refused != "" && (!errors.As(err, &pe) || pe.Param != c.refused):
			t.Errorf("%s -> %q/%q: %v, want refused naming %s", c.cur, c.name, c.code, err, c.refused)
		case c.refused == "" && (err != nil || got.Name != c.want):
			t.Errorf("%s -> %q/%q: %q, %v; want %q", c.cur, c.name, c.code, got.Name, err, c.want)
		}
	}
}
