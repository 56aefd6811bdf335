package domain

import (
	"errors"
	"testing"
)

func TestMarkerPaging(t *testing.T) {
	tests := []struct {
		name         string
		marker       string
		maxItems     int64
		want         Marker
		wantErrParam string
	}{
		{"ok/defaults", "", 0, Marker{Limit: 100}, ""},
		{"ok/next_page", NextMarker("alice"), 10, Marker{After: "alice", Limit: 10}, ""},
		{"fail/too_many", "", 1001, Marker{}, "MaxItems"},
		{"fail/negative", "", -1, Marker{}, "MaxItems"},
		{"fail/not_a_marker", "%%%", 10, Marker{}, "Marker"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MarkerPaging(tt.marker, tt.maxItems, 100, 1000)
			var pe *ParamError
			if tt.wantErrParam != "" {
				if !errors.As(err, &pe) || pe.Param != tt.wantErrParam {
					t.Fatalf("MarkerPaging error = %v, want one naming %s", err, tt.wantErrParam)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("MarkerPaging = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestCheckName(t *testing.T) {
	letters := func(r rune) bool { return r >= 'a' && r <= 'z' }
	tests := []struct {
		name, v string
		want    error
	}{
		{"ok", "abc", nil},
		{"fail/empty", "", ErrTooLong},
		{"fail/long", "abcdef", ErrTooLong},
		{"fail/chars", "ab1", ErrBadChars},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckName("Name", tt.v, 5, letters, "letters")
			if !errors.Is(err, tt.want) || tt.want == nil && err != nil {
				t.Fatalf("CheckName = %v, want %v", err, tt.want)
			}
			if tt.want != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("%v does not match ErrInvalid", err)
			}
		})
	}
}

func TestCheckTags(t *testing.T) {
	many := make([]Tag, MaxTags+1)
	for i := range many {
		many[i] = Tag{Key: string(rune('a' + i))}
	}
	tests := []struct {
		name string
		tags []Tag
		ok   bool
	}{
		{"ok", []Tag{{"env", "prod"}, {"team", ""}}, true},
		{"fail/too_many", many, false},
		{"fail/empty_key", []Tag{{"", "v"}}, false},
		{"fail/reserved", []Tag{{"acs:owner", "v"}}, false},
		{"fail/twice", []Tag{{"a", "1"}, {"a", "2"}}, false},
		{"fail/nul_key", []Tag{{"k\x00", "v"}}, false},
		{"fail/nul_value", []Tag{{"k", "v\x00"}}, false},
		{"fail/newline_key", []Tag{{"k\n", "v"}}, false},
		{"fail/c1_value", []Tag{{"k", "v\u0085"}}, false},
		{"fail/del_key", []Tag{{"k\x7f", "v"}}, false},
		{"fail/not_utf8", []Tag{{"k\xff", "v"}}, false},
		{"ok/unicode", []Tag{{"环境", "生产 环境"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckTags("Tag", tt.tags)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckTags = %v, want ok=%v", err, tt.ok)
			}
			var pe *ParamError
			if err != nil && (!errors.As(err, &pe) || pe.Param != "Tag" || !errors.Is(err, ErrInvalid)) {
				t.Errorf("CheckTags = %v, want an invalid Tag", err)
			}
		})
	}
}

func TestCheckTagKeys(t *testing.T) {
	tests := []struct {
		name string
		keys []string
		ok   bool
	}{
		{"ok", []string{"env", "环境"}, true},
		{"ok/none", nil, true},
		{"fail/nul", []string{"env", "k\x00"}, false},
		{"fail/tab", []string{"k\t"}, false},
		{"fail/not_utf8", []string{"\xff"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckTagKeys("TagKey", tt.keys)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckTagKeys = %v, want ok=%v", err, tt.ok)
			}
			var pe *ParamError
			if err != nil && (!errors.As(err, &pe) || pe.Param != "TagKey" || !errors.Is(err, ErrInvalid)) {
				t.Errorf("CheckTagKeys = %v, want an invalid TagKey", err)
			}
		})
	}
}
