package policy

import "strings"

// indexPrefix is how much of an action pattern's literal prefix (the text
// before its first wildcard) a Set indexes it by.
const indexPrefix = 8

// Set is several policies compiled together for deciding many requests
// fast: their statements are indexed by action, so that a request looks at
// the statements whose actions can match it (and those with NotAction)
// instead of all of them. Set.Evaluate decides exactly as Evaluate does
// over the same policies. A Set is immutable and safe for concurrent use.
type Set struct {
	exact  map[string][]*statement // by the lower-cased action of an exact pattern
	prefix map[string][]*statement // by the first indexPrefix characters of a wildcard pattern's literal prefix
	always []*statement            // NotAction statements and non-ASCII patterns, looked at for every request
	all    []*statement            // every statement, for a request whose action is not ASCII
}

// NewSet compiles policies into a Set; nil policies are skipped.
func NewSet(policies ...*Policy) *Set {
	s := &Set{exact: map[string][]*statement{}, prefix: map[string][]*statement{}}
	for _, p := range policies {
		if p == nil {
			continue
		}
		for i := range p.statements {
			st := &p.statements[i]
			s.all = append(s.all, st)
			if st.notAction || !actionsASCII(st) {
				s.always = append(s.always, st)
				continue
			}
			seen := map[string]bool{} // a statement once per bucket
			for _, a := range st.actions {
				m, key := s.prefix, a.text
				if a.exact {
					m = s.exact
				} else {
					if i := strings.IndexAny(key, "*?"); i >= 0 {
						key = key[:i]
					}
					key = key[:min(len(key), indexPrefix)]
				}
				k := key
				if !a.exact {
					k = "\x00" + key
				}
				if seen[k] {
					continue
				}
				seen[k] = true
				m[key] = append(m[key], st)
			}
		}
	}
	return s
}

// actionsASCII reports whether every action pattern of st is ASCII: only
// those are indexed (their case folds as the request's does).
func actionsASCII(st *statement) bool {
	for _, a := range st.actions {
		for i := 0; i < len(a.text); i++ {
			if a.text[i] >= 0x80 {
				return false
			}
		}
	}
	return true
}

// Len is how many statements the Set holds.
func (s *Set) Len() int { return len(s.all) }

// Evaluate decides req as Evaluate does over the Set's policies:
// ExplicitDeny when a Deny statement applies, else Allowed when an Allow
// statement does, else ImplicitDeny.
func (s *Set) Evaluate(req Request) Decision {
	action := lowerASCII(req.Action)
	req.Action = action
	allowed := false
	// decide looks at candidates; it reports true on an explicit deny.
	decide := func(list []*statement) bool {
		for _, st := range list {
			if (!st.deny && allowed) || !st.applies(&req) {
				continue
			}
			if st.deny {
				return true
			}
			allowed = true
		}
		return false
	}
	for i := 0; i < len(action); i++ {
		if action[i] >= 0x80 { // folds beyond ASCII: look at everything
			if decide(s.all) {
				return ExplicitDeny
			}
			return map[bool]Decision{true: Allowed, false: ImplicitDeny}[allowed]
		}
	}
	if decide(s.exact[action]) || decide(s.always) {
		return ExplicitDeny
	}
	for k := 0; k <= min(len(action), indexPrefix); k++ {
		if list, ok := s.prefix[action[:k]]; ok && decide(list) {
			return ExplicitDeny
		}
	}
	if allowed {
		return Allowed
	}
	return ImplicitDeny
}
