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
	// segs are text's pieces between its stars (for a pattern with a star):
	// the first is anchored at the start, the last at the end, the others
	// found left to right.
	segs []string
	qs   bool // some segment holds a ?
}

func compile(text string, fold bool) pattern {
	if fold {
		text = strings.ToLower(text)
	}
	p := pattern{text: text, fold: fold, exact: !strings.ContainsAny(text, "*?"), any: text == "*"}
	if strings.Contains(text, "*") {
		p.segs = strings.Split(text, "*")
	}
	p.qs = strings.Contains(text, "?")
	return p
}

// match reports whether s matches p. It runs in O(len(p)·len(s)) at worst
// and in about O(len(s)) for patterns without ?, with no recursion: a
// pattern from a policy document cannot make it blow up.
func (p pattern) match(s string) bool {
	if p.fold {
		s = lowerASCII(s)
	}
	return p.matchLowered(s)
}

// matchLowered is match for an s whose ASCII letters are lower-cased
// already when p folds (Evaluate lower-cases a request's action once).
func (p pattern) matchLowered(s string) bool {
	switch {
	case p.any:
		return true
	case p.exact && p.fold:
		return strings.EqualFold(p.text, s)
	case p.exact:
		return p.text == s
	}
	if p.segs == nil { // ? only
		return len(s) == len(p.text) && matchQ(p.text, s)
	}
	first, last := p.segs[0], p.segs[len(p.segs)-1]
	if len(s) < len(first)+len(last) {
		return false
	}
	if p.qs {
		if !matchQ(first, s[:len(first)]) || !matchQ(last, s[len(s)-len(last):]) {
			return false
		}
	} else if first != s[:len(first)] || last != s[len(s)-len(last):] {
		return false
	}
	s = s[len(first) : len(s)-len(last)]
	for _, seg := range p.segs[1 : len(p.segs)-1] {
		i := indexQ(s, seg, p.qs)
		if i < 0 {
			return false
		}
		s = s[i+len(seg):]
	}
	return true
}

// matchQ reports whether s (as long as pat) matches pat, whose ? match
// any one byte.
func matchQ(pat, s string) bool {
	for i := 0; i < len(pat); i++ {
		if pat[i] != '?' && pat[i] != s[i] {
			return false
		}
	}
	return true
}

// indexQ is the first index of pat (whose ? match any one byte) in s, or -1.
func indexQ(s, pat string, qs bool) int {
	if !qs || !strings.Contains(pat, "?") {
		return strings.Index(s, pat)
	}
	for i := 0; i+len(pat) <= len(s); i++ {
		if matchQ(pat, s[i:i+len(pat)]) {
			return i
		}
	}
	return -1
}

// lowerASCII lower-cases the ASCII letters of s (allocating only when it
// has upper-case ones).
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
