package policy

import (
	"encoding/json"
	"math/rand/v2"
	"net/netip"
	"regexp"
	"strings"
	"testing"
)

// The oracle decides the same questions another way: wildcards become
// regular expressions, statements are kept as plain data, and the decision
// is taken by collecting every applicable statement first.

type oracleStatement struct {
	Effect      string
	Action      []string `json:",omitempty"`
	NotAction   []string `json:",omitempty"`
	Resource    []string `json:",omitempty"`
	NotResource []string `json:",omitempty"`
	SourceIPs   []string `json:"-"` // an IpAddress condition on acs:SourceIp, when set
}

func oracleMatch(pat, s string, fold bool) bool {
	expr := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(pat)) + "$"
	if fold {
		expr = "(?is)" + expr
	} else {
		expr = "(?s)" + expr
	}
	return regexp.MustCompile(expr).MatchString(s)
}

func oracleAny(pats []string, s string, fold bool) bool {
	for _, p := range pats {
		if oracleMatch(p, s, fold) {
			return true
		}
	}
	return false
}

func oracleDecide(r Request, docs [][]oracleStatement) Decision {
	var applicable []oracleStatement
	for _, doc := range docs {
		for _, st := range doc {
			actionOK := oracleAny(st.Action, r.Action, true)
			if st.NotAction != nil {
				actionOK = !oracleAny(st.NotAction, r.Action, true)
			}
			resourceOK := oracleAny(st.Resource, r.Resource, false)
			if st.NotResource != nil {
				resourceOK = !oracleAny(st.NotResource, r.Resource, false)
			}
			condOK := true
			if st.SourceIPs != nil {
				condOK = false
				ip, err := netip.ParseAddr(r.Context["acs:sourceip"])
				for _, cidr := range st.SourceIPs {
					if err == nil && netip.MustParsePrefix(cidr).Contains(ip) {
						condOK = true
					}
				}
			}
			if actionOK && resourceOK && condOK {
				applicable = append(applicable, st)
			}
		}
	}
	decision := ImplicitDeny
	for _, st := range applicable {
		if st.Effect == Deny {
			return ExplicitDeny
		}
		decision = Allowed
	}
	return decision
}

func (st oracleStatement) MarshalJSON() ([]byte, error) {
	type plain oracleStatement
	out := map[string]any{}
	b, _ := json.Marshal(plain(st))
	json.Unmarshal(b, &out)
	if st.SourceIPs != nil {
		out["Condition"] = map[string]any{"IpAddress": map[string]any{"acs:SourceIp": st.SourceIPs}}
	}
	return json.Marshal(out)
}

var (
	actionWords   = []string{"esa:SetCertificate", "esa:GetCertificate", "esa:ListSites", "esa:DeleteSite", "ram:CreateUser", "ram:ListUsers", "cas:Upload"}
	resourceWords = []string{"acs:esa:*:1234:site/1", "acs:esa:*:1234:site/12", "acs:esa:*:1234:site/2", "acs:ram:*:1234:user/ci", "*"}
	cidrs         = []string{"10.0.0.0/8", "203.0.113.0/24", "203.0.113.7/32", "2001:db8::/32"}
	ips           = []string{"10.1.2.3", "203.0.113.7", "203.0.113.8", "198.51.100.1", "2001:db8::1"}
)

// mutate turns a word into a pattern: a prefix with *, a ? for a letter, a
// changed case, or the word itself.
func mutate(r *rand.Rand, w string) string {
	switch r.IntN(6) {
	case 0:
		return w[:r.IntN(len(w)+1)] + "*"
	case 1:
		i := r.IntN(len(w))
		return w[:i] + "?" + w[i+1:]
	case 2:
		return strings.ToUpper(w)
	case 3:
		return "*" + w[r.IntN(len(w)):]
	case 4:
		i := r.IntN(len(w))
		return w[:i] + "*" + w[min(len(w), i+r.IntN(4)):]
	}
	return w
}

func randomStatement(r *rand.Rand) oracleStatement {
	st := oracleStatement{Effect: Allow}
	if r.IntN(4) == 0 {
		st.Effect = Deny
	}
	pick := func(words []string) []string {
		out := []string{}
		for n := 1 + r.IntN(3); n > 0; n-- {
			out = append(out, mutate(r, words[r.IntN(len(words))]))
		}
		return out
	}
	if r.IntN(5) == 0 {
		st.NotAction = pick(actionWords)
	} else {
		st.Action = pick(actionWords)
	}
	if r.IntN(5) == 0 {
		st.NotResource = pick(resourceWords)
	} else {
		st.Resource = pick(resourceWords)
	}
	if r.IntN(3) == 0 {
		st.SourceIPs = []string{cidrs[r.IntN(len(cidrs))]}
	}
	return st
}

// TestEvaluateAgainstOracle: random documents of random statements
// (wildcards, case, NotAction/NotResource, Deny, IP conditions), written
// as JSON and parsed, decide every random request as the oracle does.
func TestEvaluateAgainstOracle(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 2000 {
		var docs [][]oracleStatement
		var policies []*Policy
		for n := 1 + r.IntN(3); n > 0; n-- {
			var sts []oracleStatement
			for m := 1 + r.IntN(4); m > 0; m-- {
				sts = append(sts, randomStatement(r))
			}
			doc, _ := json.Marshal(map[string]any{"Version": "1", "Statement": sts})
			p, err := Parse(string(doc))
			if err != nil {
				t.Fatalf("round %d: Parse(%s) = %v", round, doc, err)
			}
			docs, policies = append(docs, sts), append(policies, p)
		}
		for range 10 {
			action := actionWords[r.IntN(len(actionWords))]
			if r.IntN(3) == 0 {
				action = strings.ToLower(action)
			}
			q := req(action, resourceWords[r.IntN(len(resourceWords))])
			if r.IntN(4) != 0 {
				q.Set(KeySourceIP, ips[r.IntN(len(ips))])
			}
			if got, want := Evaluate(q, policies...), oracleDecide(q, docs); got != want {
				raw, _ := json.Marshal(docs)
				t.Fatalf("round %d: %+v under %s: Evaluate = %v, oracle = %v", round, q, raw, got, want)
			}
			if got, want := NewSet(policies...).Evaluate(q), oracleDecide(q, docs); got != want {
				raw, _ := json.Marshal(docs)
				t.Fatalf("round %d: %+v under %s: Set.Evaluate = %v, oracle = %v", round, q, raw, got, want)
			}
		}
	}
}

// FuzzGlob: the matcher agrees with regular expressions on any pattern.
func FuzzGlob(f *testing.F) {
	f.Add("esa:Get*", "esa:GetSite", true)
	f.Add("a*b?c*", "aXXbYcZ", false)
	f.Add("*a*a*a*b", "aaaaaaaaaaaaaaaa", false)
	f.Fuzz(func(t *testing.T, pat, s string, fold bool) {
		if len(pat) > 64 || len(s) > 64 || !isASCII(pat) || !isASCII(s) {
			return
		}
		if got, want := compile(pat, fold).match(s), oracleMatch(pat, s, fold); got != want {
			t.Fatalf("match(%q, %q, %v) = %v, regexp says %v", pat, s, fold, got, want)
		}
	})
}

// FuzzParse: no document makes Parse panic, and what it accepts evaluates.
func FuzzParse(f *testing.F) {
	f.Add(`{"Version":"1","Statement":[{"Effect":"Allow","Action":"esa:*","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}}]}`)
	f.Add(`{"Version":"1","Statement":{"Effect":"Deny","NotAction":["esa:Get*"],"NotResource":"acs:esa:*:1:site/*"}}`)
	f.Fuzz(func(t *testing.T, doc string) {
		p, err := Parse(doc)
		if err != nil {
			return
		}
		Evaluate(req("esa:GetSite", "acs:esa:*:1:site/1", KeySourceIP, "10.0.0.1", KeyCurrentTime, "2026-01-01T00:00:00Z"), p)
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
