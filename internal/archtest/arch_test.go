package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/esacert/esacert"

type pkg struct {
	ImportPath string
	Doc        string
	Name       string
	Imports    []string
	Deps       []string
	Standard   bool
}

func list(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Doc,Name,Imports,Deps,Standard", module+"/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func TestPackageDocs(t *testing.T) {
	for _, p := range list(t) {
		if p.Name == "" {
			continue // test-only package
		}
		if strings.TrimSpace(p.Doc) == "" {
			t.Errorf("%s has no package doc", p.ImportPath)
		}
	}
}

// stdlibOnly reports whether path is in the standard library (no dot in its
// first element).
func stdlibOnly(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

func TestDependencyRule(t *testing.T) {
	pkgs := list(t)
	rel := func(p string) string { return strings.TrimPrefix(p, module+"/") }
	for _, p := range pkgs {
		name := rel(p.ImportPath)
		for _, d := range p.Deps {
			switch {
			case name == "internal/certcheck" && !stdlibOnly(d):
				t.Errorf("certcheck depends on %s: it may use the standard library only", d)
			case name == "internal/redact" && !stdlibOnly(d):
				t.Errorf("redact depends on %s: it may use the standard library only", d)
			case name == "internal/policy" && (!stdlibOnly(d) || d == "net/http" || d == "database/sql"):
				t.Errorf("policy depends on %s: the policy language is pure (standard library only)", d)
			case name == "internal/origin" && (!stdlibOnly(d) || d == "net/http" || d == "database/sql"):
				t.Errorf("origin depends on %s: the domain imports it, so it may use the standard library only, without net/http or database/sql", d)
			case name == "internal/cert" && (d == "net/http" || d == "database/sql" || strings.Contains(d, "sqlite") || strings.Contains(d, "pgx")):
				t.Errorf("the domain (cert) depends on %s", d)
			}
		}
		for _, imp := range p.Imports {
			r := rel(imp)
			switch {
			case strings.HasPrefix(r, "cmd/"):
				t.Errorf("%s imports a command (%s)", name, imp)
			case r == "internal/node" && name != "cmd/esacert":
				t.Errorf("%s imports internal/node: only cmd/esacert builds a node", name)
			case r == "internal/config" && name != "cmd/esacert" && name != "internal/node":
				t.Errorf("%s imports internal/config: only the composition root reads configuration", name)
			}
		}
		// The adapters (store, api, edge, acme) know the domain, not each other.
		adapters := []string{"internal/store/sqlstore", "internal/api", "internal/edge", "internal/acme"}
		for _, a := range adapters {
			if name != a {
				continue
			}
			for _, imp := range p.Imports {
				for _, b := range adapters {
					if rel(imp) == b {
						t.Errorf("%s imports %s: adapters meet only in internal/node", a, b)
					}
				}
			}
		}
	}
}
