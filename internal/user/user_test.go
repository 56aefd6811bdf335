package user

import (
	"errors"
	"testing"

	"github.com/esacert/esacert/internal/domain"
)

func TestChecks(t *testing.T) {
	tests := []struct {
		name  string
		check func(string, string) error
		v     string
		want  error
	}{
		{"ok/name", CheckName, "ci.pipeline-1_x@corp", nil},
		{"fail/name_space", CheckName, "c i", domain.ErrBadChars},
		{"fail/name_unicode", CheckName, "cé", domain.ErrBadChars},
		{"fail/name_long", CheckName, string(make([]byte, 65)), domain.ErrBadChars},
		{"ok/email", checkEmail, "ci@example.com", nil},
		{"fail/email", checkEmail, "ci.example.com", domain.ErrBadFormat},
		{"ok/phone", checkMobilePhone, "86-18600008888", nil},
		{"fail/phone", checkMobilePhone, "18600008888", domain.ErrBadFormat},
		{"ok/display_name", checkDisplayName, "CI 流水线", nil},
		{"fail/display_name_control", checkDisplayName, "a\nb", domain.ErrBadChars},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.check("P", tt.v)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("check(%q) = %v, want %v", tt.v, err, tt.want)
			}
		})
	}
}
