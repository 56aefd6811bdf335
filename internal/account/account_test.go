package account

import (
	"context"
	"errors"
	"testing"

	"github.com/esacert/esacert/internal/domain"
)

// memStore is a hand-written Store for three small methods.
type memStore struct{ id, alias string }

func (m *memStore) ClaimAccountID(_ context.Context, id string) (string, error) {
	if m.id == "" {
		m.id = id
	}
	return m.id, nil
}
func (m *memStore) AccountAlias(context.Context) (string, error) { return m.alias, nil }
func (m *memStore) SetAccountAlias(_ context.Context, a string) error {
	m.alias = a
	return nil
}

func TestEnsure(t *testing.T) {
	s := &Service{Store: &memStore{}}
	first, err := s.Ensure(t.Context())
	if err != nil || len(first) != IDDigits || first[0] == '0' {
		t.Fatalf("Ensure = %q, %v; want %d digits", first, err, IDDigits)
	}
	if again, _ := s.Ensure(t.Context()); again != first {
		t.Errorf("second Ensure = %q, want %q kept", again, first)
	}
}

func TestSetAlias(t *testing.T) {
	tests := []struct {
		name, alias string
		want        error
	}{
		{"ok", "edge-team", nil},
		{"ok/digits", "a1b", nil},
		{"fail/short", "ab", domain.ErrTooLong},
		{"fail/upper", "Edge", domain.ErrBadFormat},
		{"fail/leading_hyphen", "-edge", domain.ErrBadFormat},
		{"fail/double_hyphen", "edge--team", domain.ErrBadFormat},
		{"fail/missing", "", domain.ErrMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &memStore{}
			s := &Service{Store: st}
			err := s.SetAlias(t.Context(), tt.alias)
			if tt.want == nil {
				if err != nil || st.alias != tt.alias {
					t.Fatalf("SetAlias = %v (alias %q)", err, st.alias)
				}
				if got, _ := s.Alias(t.Context(), "1"); got != tt.alias {
					t.Errorf("Alias = %q", got)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("SetAlias = %v, want %v", err, tt.want)
			}
		})
	}
	if got, _ := (&Service{Store: &memStore{}}).Alias(t.Context(), "1234"); got != "1234" {
		t.Errorf("Alias without one = %q, want the account id", got)
	}
}
