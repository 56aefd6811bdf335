package policy

import "strings"

// pattern is a compiled wildcard pattern: * matches any run of characters
// (none included), ? matches one character. fold compares without regard to
// ASCII case.
type pattern struct {
	text  string // lower-cased when fold
	fold  bool
	exact bool // no wildcard in text
	any   bool // text is "*"
}

func compile(text string, fold bool) pattern {
	if fold {
		text = strings.ToLower(text)
	}
	return pattern{text: text, fold: fold, exact: !strings.ContainsAny(text, "*?"), any: text == "*"}
}

// match reports whether s matches p. It runs in O(len(p)·len(s)) at worst,
// with no recursion: a pattern from a policy document cannot make it blow up.
func (p pattern) match(s string) bool {
	switch {
	case p.any:
		return true
	case p.exact && p.fold:
		return strings.EqualFold(p.text, s)
	case p.exact:
		return p.text == s
	}
	return glob(p.text, s, p.fold)
}

// glob matches s against the wildcard pattern pat (already lower-cased when
// fold), backtracking only to the last star.
func glob(pat, s string, fold bool) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		c := s[si]
		if fold && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		switch {
		case pi < len(pat) && pat[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(pat) && (pat[pi] == '?' || pat[pi] == c):
			pi++
			si++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(pat) && pat[pi] == '*' {
		pi++
	}
	return pi == len(pat)
}
