package api

import (
	"slices"
	"testing"

	"github.com/esacert/esacert/internal/sitesetting"
)

// TestOffFeaturesKept: each parameter an off feature keeps is one of its
// update's parameters, kept under its one update action.
func TestOffFeaturesKept(t *testing.T) {
	for _, f := range offFeatures {
		if len(f.kept) > 0 && len(f.updates) != 1 {
			t.Errorf("%s keeps %v but has updates %v, want one (the key names it)", f.name, f.kept, f.updates)
		}
		for _, k := range f.kept {
			if !slices.ContainsFunc(f.params, func(p sitesetting.Fixed) bool { return p.Param == k }) {
				t.Errorf("%s keeps %s, which is none of its parameters", f.name, k)
			}
		}
	}
}
