package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"slices"
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

// domainImports lists the domain's packages, the shared vocabulary and one
// package per noun, with what each may import of esacert. A noun imports
// another noun only for its exported types, where the real dependency
// exists; its package doc says which and why. Adding a noun (users, keys,
// policies) means adding a package and its row here.
var domainImports = map[string][]string{
	// The bottom: standard library only.
	"internal/domain": {},
	// Sites and plan instances: everything else belongs to a site.
	"internal/site": {"internal/domain"},
	// A record belongs to a site; proxied origins pass the origin policy.
	"internal/record": {"internal/domain", "internal/site", "internal/origin"},
	// An HTTPS configuration belongs to a site.
	"internal/httpsconf": {"internal/domain", "internal/site"},
	// A site's feature settings (pause, IPv6, managed transforms) and tags.
	"internal/sitesetting": {"internal/domain"},
	// A certificate belongs to a site and counts against its plan's limits;
	// certcheck parses and checks it; Reseal binds records' sealed secrets
	// (record.SecretsAAD), users' access key secrets (accesskey.SecretAAD),
	// the STS server key (session.KeyAAD), origin client certificates' keys
	// (origincert.ClientAAD), sites' client CA keys (clientcert.IssuerAAD) and
	// the edge's ticket keys (ticketkey.AAD)
	// when the master key rotates.
	"internal/cert": {"internal/domain", "internal/site", "internal/record", "internal/certcheck", "internal/accesskey", "internal/session",
		"internal/origincert", "internal/clientcert", "internal/ticketkey"},
	// Origin CA and client certificates (issue 15) belong to a site and are
	// checked by certcheck as certificates are.
	"internal/origincert": {"internal/domain", "internal/site", "internal/certcheck"},
	// Mutual TLS from visitors (issue 15): uploaded client CAs, and the
	// client certificates esacert issues, which bind hostnames by the
	// client CAs' rule (clientca.Hostnames).
	"internal/clientca":   {"internal/domain", "internal/site", "internal/certcheck"},
	"internal/clientcert": {"internal/domain", "internal/site", "internal/certcheck", "internal/clientca"},
	// Access control (issue 12). The account: its id and alias.
	"internal/account": {"internal/domain"},
	// RAM users; groups of users; users' access keys.
	"internal/user":      {"internal/domain"},
	"internal/group":     {"internal/domain", "internal/user"},
	"internal/accesskey": {"internal/domain", "internal/user"},
	// Roles, with their trust policies in the policy language.
	"internal/role": {"internal/domain", "internal/policy"},
	// Policies as RAM manages them: documents in the policy language,
	// versions, attachments to users, groups and roles by name.
	"internal/rampolicy": {"internal/domain", "internal/policy"},
	// STS sessions: the role assumed and its trust policy.
	"internal/session": {"internal/domain", "internal/policy", "internal/role"},
	// The keys of the edge's TLS session tickets (issue 16), sealed under
	// the master key (cert's Reseal re-seals them with the other keys).
	"internal/ticketkey": {"internal/domain"},
	// Who signs a request and what its policies allow (decided by policy):
	// a user's key (accesskey), the system policies' documents (rampolicy),
	// STS credentials (session).
	"internal/identity": {"internal/domain", "internal/policy", "internal/accesskey", "internal/rampolicy", "internal/session"},
	// Notices of certificates that expire or fail to renew (issue 14): the
	// free certificates' states come from cert.
	"internal/notify": {"internal/domain", "internal/cert"},
}

// wired lists the adapters and the other parts that only the composition
// root puts together: the store, the api, the edge, the ACME issuer, the
// master key's keeper, VerifySite's resolver, the health check, the
// metrics, the webhooks notices are posted to and the OCSP fetcher.
var wired = []string{"internal/store/sqlstore", "internal/api", "internal/edge", "internal/acme",
	"internal/masterkey", "internal/resolver", "internal/health", "internal/metrics", "internal/webhook", "internal/ocsp"}

// composition reports whether name is the composition root.
func composition(name string) bool { return name == "cmd/esacert" || name == "internal/node" }

// testHelper reports whether name is a package for tests only (storetest,
// sitetest, pkitest, acmetest, clienttest).
func testHelper(name string) bool { return strings.HasSuffix(name, "test") }

func TestDependencyRule(t *testing.T) {
	pkgs := list(t)
	rel := func(p string) string { return strings.TrimPrefix(p, module+"/") }
	for _, p := range pkgs {
		name := rel(p.ImportPath)
		for _, d := range p.Deps {
			switch {
			case name == "internal/certcheck" && !stdlibOnly(d):
				t.Errorf("certcheck depends on %s: it may use the standard library only", d)
			case name == "internal/audit" && !stdlibOnly(d) && d != "github.com/esacert/esacert/internal/redact":
				t.Errorf("audit depends on %s: the audit trail's vocabulary uses the standard library and internal/redact only", d)
			case name == "internal/console" && !stdlibOnly(d):
				t.Errorf("console depends on %s: the console reaches esacert through the API (its API interface, which api.Server implements) and may use the standard library only", d)
			case name == "internal/apiclient" && !stdlibOnly(d):
				t.Errorf("apiclient depends on %s: the client side of the API uses the standard library only", d)
			case name == "internal/redact" && !stdlibOnly(d):
				t.Errorf("redact depends on %s: it may use the standard library only", d)
			case name == "internal/policy" && (!stdlibOnly(d) || d == "net/http" || d == "database/sql"):
				t.Errorf("policy depends on %s: the policy language is pure (standard library only)", d)
			case name == "internal/origin" && (!stdlibOnly(d) || d == "net/http" || d == "database/sql"):
				t.Errorf("origin depends on %s: the domain imports it, so it may use the standard library only, without net/http or database/sql", d)
			case domainImports[name] != nil && (d == "net/http" || d == "database/sql" || strings.Contains(d, "sqlite") || strings.Contains(d, "pgx")):
				t.Errorf("the domain (%s) depends on %s: it never imports net/http, database/sql or a driver", name, d)
			case name == "internal/domain" && !stdlibOnly(d):
				t.Errorf("domain depends on %s: the nouns' shared vocabulary uses the standard library only", d)
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
			case strings.HasPrefix(imp, "github.com/prometheus/") && name != "internal/metrics":
				t.Errorf("%s imports %s: only internal/metrics knows Prometheus; the layers report through their own small interfaces", name, imp)
			}
		}
		// The domain: what a noun may import of esacert is in domainImports.
		if allowed := domainImports[name]; allowed != nil {
			for _, imp := range p.Imports {
				if r := rel(imp); r != imp && !slices.Contains(allowed, r) {
					t.Errorf("%s imports %s: a noun imports domain, the pure packages it needs and other nouns' exported types "+
						"only where the dependency is real (listed, with the reason, in archtest's domainImports and the package doc)", name, r)
				}
			}
		}
		for _, imp := range p.Imports {
			r := rel(imp)
			switch {
			case r == "internal/domain" && domainImports[name] == nil && !slices.Contains(wired, name) && !composition(name) && !testHelper(name):
				t.Errorf("%s imports internal/domain but is no noun of the domain: a new noun is a package listed in archtest's domainImports", name)
			case slices.Contains(wired, r) && !composition(name) && !testHelper(name) && !(name == "internal/masterkey" && r == "internal/store/sqlstore") &&
				!(name == "cmd/edgebench" && r == "internal/store/sqlstore"): // the benchmark harness seeds a node's database by the store's Import
				t.Errorf("%s imports %s: only the composition root (cmd/esacert, internal/node) wires the adapters together", name, r)
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
