package httpsconf

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/site"
)

// RuleMatch is what a rule expression selects: every request (All), or
// the requests for one of Hosts.
type RuleMatch struct {
	All   bool
	Hosts []string // lowercase, without trailing dots, sorted, no duplicates; nil when All
}

// Matches reports whether m selects requests for host (compared lowercase,
// without a trailing dot).
func (m RuleMatch) Matches(host string) bool {
	if m.All {
		return true
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	i := sort.SearchStrings(m.Hosts, host)
	return i < len(m.Hosts) && m.Hosts[i] == host
}

// ruleForms says publicly which rule expressions esacert supports.
const ruleForms = `supported forms are true, (http.host eq "NAME"), (http.host in {"NAME" "NAME"}), ` +
	`and such terms combined with and/or, e.g. (http.host eq "a.example.com") or (http.host eq "b.example.com")`

// ParseRule parses a rule expression. esacert supports the subset of ESA's
// rule language that selects requests by host: the word true (every
// request), and terms http.host eq "NAME" and http.host in {"NAME" …},
// optionally parenthesised and joined by and (binding tighter) and or.
// Anything else, an expression that selects no host, and a NAME that is
// not a host name are refused with a ParamError naming Rule that says why
// and which forms are supported.
func ParseRule(rule string) (RuleMatch, error) {
	fail := func(why string) (RuleMatch, error) { return RuleMatch{}, domain.Invalid("Rule", why+"; "+ruleForms) }
	if len(rule) > MaxRule {
		return fail(fmt.Sprintf("a rule is at most %d bytes long", MaxRule))
	}
	toks, err := lexRule(rule)
	if err != nil {
		return fail(err.Error())
	}
	if len(toks) == 0 {
		return fail("the rule is empty")
	}
	p := &ruleParser{toks: toks}
	set, err := p.or()
	if err != nil {
		return fail(err.Error())
	}
	if p.i < len(p.toks) {
		return fail(fmt.Sprintf("unexpected %s", p.toks[p.i]))
	}
	if set.all {
		return RuleMatch{All: true}, nil
	}
	if len(set.hosts) == 0 {
		return fail("the expression matches no host")
	}
	m := RuleMatch{}
	for h := range set.hosts {
		m.Hosts = append(m.Hosts, h)
	}
	sort.Strings(m.Hosts)
	return m, nil
}

// ruleToken is one token of a rule: a bracket, a string literal (text is
// its value) or a word.
type ruleToken struct {
	kind byte // one of ( ) { }, '"' for a string, 'w' for a word
	text string
}

func (t ruleToken) String() string {
	if t.kind == '"' || t.kind == 'w' {
		return strconv.Quote(t.text)
	}
	return strconv.Quote(string(t.kind))
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_'
}

func lexRule(s string) ([]ruleToken, error) {
	var toks []ruleToken
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')' || c == '{' || c == '}':
			toks = append(toks, ruleToken{kind: c})
			i++
		case c == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' {
					if j+1 < len(s) && (s[j+1] == '"' || s[j+1] == '\\') {
						j++
					} else {
						return nil, errors.New(`only \" and \\ may follow a backslash in a string`)
					}
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, errors.New("a string is not closed")
			}
			toks = append(toks, ruleToken{kind: '"', text: b.String()})
			i = j + 1
		case isWordByte(c):
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			toks = append(toks, ruleToken{kind: 'w', text: s[i:j]})
			i = j
		default:
			r, _ := utf8.DecodeRuneInString(s[i:])
			return nil, fmt.Errorf("unexpected %q", r)
		}
	}
	return toks, nil
}

// hostSet is what part of a rule selects.
type hostSet struct {
	all   bool
	hosts map[string]bool
}

func union(a, b hostSet) hostSet {
	if a.all || b.all {
		return hostSet{all: true}
	}
	for h := range b.hosts {
		a.hosts[h] = true
	}
	return a
}

func intersect(a, b hostSet) hostSet {
	switch {
	case a.all:
		return b
	case b.all:
		return a
	}
	out := hostSet{hosts: map[string]bool{}}
	for h := range a.hosts {
		if b.hosts[h] {
			out.hosts[h] = true
		}
	}
	return out
}

type ruleParser struct {
	toks []ruleToken
	i    int
}

// word reports whether the next token is the word w, and consumes it if so.
func (p *ruleParser) word(w string) bool {
	if p.i < len(p.toks) && p.toks[p.i].kind == 'w' && p.toks[p.i].text == w {
		p.i++
		return true
	}
	return false
}

// next returns the next token, or an error at the end.
func (p *ruleParser) next(want string) (ruleToken, error) {
	if p.i >= len(p.toks) {
		return ruleToken{}, fmt.Errorf("the rule ends where %s should follow", want)
	}
	p.i++
	return p.toks[p.i-1], nil
}

func (p *ruleParser) or() (hostSet, error) {
	set, err := p.and()
	for err == nil && p.word("or") {
		var right hostSet
		if right, err = p.and(); err == nil {
			set = union(set, right)
		}
	}
	return set, err
}

func (p *ruleParser) and() (hostSet, error) {
	set, err := p.primary()
	for err == nil && p.word("and") {
		var right hostSet
		if right, err = p.primary(); err == nil {
			set = intersect(set, right)
		}
	}
	return set, err
}

func (p *ruleParser) primary() (hostSet, error) {
	t, err := p.next("a term")
	if err != nil {
		return hostSet{}, err
	}
	switch {
	case t.kind == '(':
		set, err := p.or()
		if err != nil {
			return hostSet{}, err
		}
		if t, err := p.next(`")"`); err != nil {
			return hostSet{}, err
		} else if t.kind != ')' {
			return hostSet{}, fmt.Errorf(`unexpected %s where ")" should follow`, t)
		}
		return set, nil
	case t.kind == 'w' && t.text == "true":
		return hostSet{all: true}, nil
	case t.kind == 'w' && t.text == "http.host":
		return p.hostTerm()
	}
	return hostSet{}, fmt.Errorf("unexpected %s", t)
}

// hostTerm parses what follows http.host: eq "NAME" or in {"NAME" …}.
func (p *ruleParser) hostTerm() (hostSet, error) {
	set := hostSet{hosts: map[string]bool{}}
	switch {
	case p.word("eq"):
		t, err := p.next("a quoted host name")
		if err != nil {
			return hostSet{}, err
		}
		if t.kind != '"' {
			return hostSet{}, fmt.Errorf("unexpected %s where a quoted host name should follow", t)
		}
		h, err := ruleHost(t.text)
		if err != nil {
			return hostSet{}, err
		}
		set.hosts[h] = true
		return set, nil
	case p.word("in"):
		if t, err := p.next(`"{"`); err != nil {
			return hostSet{}, err
		} else if t.kind != '{' {
			return hostSet{}, fmt.Errorf(`unexpected %s where "{" should follow`, t)
		}
		for {
			t, err := p.next(`"}"`)
			if err != nil {
				return hostSet{}, err
			}
			if t.kind == '}' {
				break
			}
			if t.kind != '"' {
				return hostSet{}, fmt.Errorf("unexpected %s in a set of quoted host names", t)
			}
			h, err := ruleHost(t.text)
			if err != nil {
				return hostSet{}, err
			}
			set.hosts[h] = true
		}
		if len(set.hosts) == 0 {
			return hostSet{}, errors.New("the set of host names is empty")
		}
		return set, nil
	}
	if p.i < len(p.toks) {
		return hostSet{}, fmt.Errorf("unsupported operator %s after http.host (eq and in are supported)", p.toks[p.i])
	}
	return hostSet{}, errors.New("the rule ends after http.host")
}

// ruleHost checks and canonicalises a host name of a rule.
func ruleHost(v string) (string, error) {
	h := strings.ToLower(strings.TrimSuffix(v, "."))
	if h == "" {
		return "", errors.New("a host name is empty")
	}
	if msg := site.CheckHostname(h); msg != "" {
		return "", fmt.Errorf("%q is not a host name: %s", v, msg)
	}
	return h, nil
}
