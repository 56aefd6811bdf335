package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/identity"
	"github.com/esacert/esacert/internal/keyseal"
)

// benchIdentities is an in-memory identity.Store for the authorization
// benchmark: users users, each with its own policies of statements
// statements. Only the cache misses of the warm-up read it.
type benchIdentities struct {
	keys   map[string]accesskey.AccessKey
	grants map[string][]identity.Grant
}

func (b *benchIdentities) AccessKey(_ context.Context, id string) (accesskey.AccessKey, error) {
	k, ok := b.keys[id]
	if !ok {
		return k, accesskey.ErrKeyNotFound
	}
	return k, nil
}

func (b *benchIdentities) Grants(_ context.Context, _, id string) ([]identity.Grant, error) {
	return b.grants[id], nil
}

func (b *benchIdentities) RAMRevision(context.Context) (int64, error) { return 1, nil }

// benchPolicy is policy p of user u: statements statements, the last one
// allowing esa:SetCertificate on the user's own site (in the last policy
// only), the others other actions (or, wide, wildcard actions that match
// every request, so that every statement's resource is looked at) on
// other sites, a quarter of them conditioned on the source address.
func benchPolicy(u, p, statements, policies int, wide bool) string {
	var sts []map[string]any
	for s := range statements {
		actions := []string{"esa:Get*", fmt.Sprintf("esa:Set%dCertificate", s)}
		if wide {
			actions = []string{"esa:*", "esa:Set*"}
		}
		st := map[string]any{"Effect": "Allow", "Action": actions,
			"Resource": fmt.Sprintf("acs:esa:*:%s:site/%d%d%d*", testAccount, u, p, s)}
		if s%4 == 0 {
			st["Condition"] = map[string]any{"IpAddress": map[string]any{"acs:SourceIp": []string{"10.0.0.0/8", "203.0.113.0/24"}}}
		}
		sts = append(sts, st)
	}
	if p == policies-1 {
		sts[statements-1] = map[string]any{"Effect": "Allow", "Action": "esa:SetCertificate",
			"Resource":  fmt.Sprintf("acs:esa:*:%s:site/%d", testAccount, 1000000+u),
			"Condition": map[string]any{"IpAddress": map[string]any{"acs:SourceIp": "203.0.113.0/24"}}}
	}
	doc, _ := json.Marshal(map[string]any{"Version": "1", "Statement": sts})
	return string(doc)
}

// BenchmarkAuthorization measures what authorization adds to a request
// signed by a RAM user: finding the key's identity in the node's cache
// (warm), the request's condition keys, naming the action and the
// resource, and deciding under the
// user's policies, for 1,000 users with 10 policies of 20 statements each
// (the target: at most 20 µs at p99). "allowed" is allowed by the very
// last statement; "denied" is looked at in full and refused (another
// site). The "wide" cases give every statement wildcard actions that match
// the request, the worst case for the action index: every one of the 200
// statements' resources is compared.
//
//	go test ./internal/api -run '^$' -bench Authorization -cpu 1 -benchtime 200000x
func BenchmarkAuthorization(b *testing.B) {
	for _, wide := range []bool{false, true} {
		name := "narrow"
		if wide {
			name = "wide"
		}
		b.Run(name, func(b *testing.B) { benchAuthorization(b, wide) })
	}
}

func benchAuthorization(b *testing.B, wide bool) {
	const users, policies, statements = 1000, 10, 20
	raw, _ := keyseal.Generate()
	sealer, _ := keyseal.New(raw)
	store := &benchIdentities{keys: map[string]accesskey.AccessKey{}, grants: map[string][]identity.Grant{}}
	for u := range users {
		id, userID := fmt.Sprintf("LTAIbench%08d", u), fmt.Sprintf("%016d", u)
		sealed, _ := sealer.Seal([]byte("secret"), accesskey.SecretAAD(id))
		store.keys[id] = accesskey.AccessKey{ID: id, UserID: userID, UserName: fmt.Sprintf("user-%d", u),
			Status: accesskey.StatusActive, SealedSecret: sealed}
		for p := range policies {
			store.grants[userID] = append(store.grants[userID], identity.Grant{PolicyType: "Custom",
				PolicyName: fmt.Sprintf("p-%d-%d", u, p), Document: benchPolicy(u, p, statements, policies, wide)})
		}
	}
	ids := &identity.Resolver{Store: store, Sealer: sealer, Account: testAccount}
	s := &Server{AccountID: testAccount, Identities: ids}
	ctx := context.Background()
	for u := range users { // warm the cache, as a node's traffic does
		if _, err := ids.Identify(ctx, fmt.Sprintf("LTAIbench%08d", u), ""); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range []struct {
		name    string
		site    func(u int) string
		allowed bool
	}{
		{"allowed", func(u int) string { return fmt.Sprint(1000000 + u) }, true},
		{"denied", func(u int) string { return "42" }, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			reqs := make([]*request, users)
			keys := make([]string, users)
			for u := range users {
				keys[u] = fmt.Sprintf("LTAIbench%08d", u)
				reqs[u] = &request{r: &http.Request{RemoteAddr: "203.0.113.9:443"}, version: ESAVersion, action: "SetCertificate",
					params: params{v: url.Values{"SiteId": {c.site(u)}}}}
			}
			lat := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				u := i % users
				i++
				start := time.Now()
				caller, err := ids.Identify(ctx, keys[u], "")
				if err != nil {
					b.Fatal(err)
				}
				reqs[u].params.conditions = s.conditions(reqs[u]) // as serve does
				err = s.authorize(reqs[u], caller)
				lat = append(lat, time.Since(start))
				if (err == nil) != c.allowed {
					b.Fatalf("user %d: authorize = %v, want allowed=%v", u, err, c.allowed)
				}
			}
			reportLatency(b, lat, "µs", time.Microsecond)
		})
	}
}
