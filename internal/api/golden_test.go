package api

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := "testdata/" + name
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/api -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from what the code says; if the change is intended, run go test ./internal/api -update and review the diff.\ngot:\n%s", path, got)
	}
}

// TestErrorTableGolden renders the error table: every change to the public
// error contract shows up in review.
func TestErrorTableGolden(t *testing.T) {
	var b strings.Builder
	for _, r := range append(table, internalRow) {
		fmt.Fprintf(&b, "%d\t%s\t%s\n", r.status, r.code, r.message)
	}
	golden(t, "errors.golden", b.String())
}

// TestActionsGolden lists every action of every version.
func TestActionsGolden(t *testing.T) {
	var lines []string
	for v, acts := range versions {
		for a := range acts {
			lines = append(lines, v+"\t"+a)
		}
	}
	sort.Strings(lines)
	golden(t, "actions.golden", strings.Join(lines, "\n")+"\n")
}

// TestNoServerErrors checks that no row answers 5xx: a 5xx makes the
// Terraform provider retry for minutes. The one exception is
// ServiceUnavailable, for a node that has not reached its database yet,
// where retrying is what a client should do.
func TestNoServerErrors(t *testing.T) {
	for _, r := range append(table, internalRow) {
		if r.code == "ServiceUnavailable" && r.status == 503 {
			continue
		}
		if r.status >= 500 || r.status < 400 {
			t.Errorf("%s answers %d", r.code, r.status)
		}
		if r.code == "" || r.message == "" || r.recommend == "" {
			t.Errorf("row %q lacks a code, message or recommendation", r.code)
		}
	}
}
