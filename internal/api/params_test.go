package api

import (
	"errors"
	"net/url"
	"testing"

	"github.com/esacert/esacert/internal/domain"
)

// TestCheckParams: raw values and the strings of JSON values are held to
// one rule (UTF-8, no NUL), however the JSON hides them.
func TestCheckParams(t *testing.T) {
	tests := []struct {
		name      string
		v         url.Values
		wantParam string // "" when the parameters pass
	}{
		{"ok/plain", url.Values{"SiteName": {"example.com"}}, ""},
		{"ok/json", url.Values{"Tag": {`[{"Key":"k\u00e9","Value":"v\n"}]`}}, ""},
		{"ok/json_escapes_other_than_nul", url.Values{"Tag": {`[{"Key":"\u0041\ud800","Value":"\t"}]`}}, ""},
		{"ok/not_json_text_with_escape", url.Values{"Comment": {`say \u0000 literally`}}, ""},
		{"ok/malformed_json_left_to_the_action", url.Values{"Tag": {`[{"Key":`}}, ""},
		{"fail/raw_nul", url.Values{"SiteName": {"a\x00b"}}, "SiteName"},
		{"fail/raw_not_utf8", url.Values{"SiteName": {"\xff"}}, "SiteName"},
		{"fail/json_nul_in_value", url.Values{"Tag": {`[{"Key":"k","Value":"v\u0000"}]`}}, "Tag"},
		{"fail/json_nul_in_key", url.Values{"Settings": {`{"Security\u0000Level":{}}`}}, "Settings"},
		{"fail/json_nul_in_list", url.Values{"TagKey": {`["k\u0000"]`}}, "TagKey"},
		{"fail/json_nul_first_of_two", url.Values{"TagKey": {`["\u0000", "k"]`}}, "TagKey"},
		{"fail/json_after_unicode_space", url.Values{"Tag": {"\v\u00a0" + `[{"Key":"k\u0000"}]`}}, "Tag"},
		{"fail/json_nul_before_trailing_text", url.Values{"Data": {`{"Value":"\u0000"} trailing`}}, "Data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkParams(tt.v)
			if tt.wantParam == "" {
				if err != nil {
					t.Fatalf("checkParams = %v, want nil", err)
				}
				return
			}
			var pe *domain.ParamError
			if !errors.As(err, &pe) || pe.Param != tt.wantParam || !errors.Is(err, domain.ErrInvalid) {
				t.Fatalf("checkParams = %v, want an invalid %s", err, tt.wantParam)
			}
		})
	}
}
