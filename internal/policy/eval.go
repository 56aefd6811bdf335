package policy

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// operator is a condition operator.
type operator int

const (
	opStringEquals operator = iota
	opStringNotEquals
	opStringEqualsIgnoreCase
	opStringNotEqualsIgnoreCase
	opStringLike
	opStringNotLike
	opNumericEquals
	opNumericNotEquals
	opNumericLessThan
	opNumericLessThanEquals
	opNumericGreaterThan
	opNumericGreaterThanEquals
	opDateEquals
	opDateNotEquals
	opDateLessThan
	opDateLessThanEquals
	opDateGreaterThan
	opDateGreaterThanEquals
	opBool
	opIPAddress
	opNotIPAddress
)

var operatorNames = map[string]operator{
	"stringequals": opStringEquals, "stringnotequals": opStringNotEquals,
	"stringequalsignorecase": opStringEqualsIgnoreCase, "stringnotequalsignorecase": opStringNotEqualsIgnoreCase,
	"stringlike": opStringLike, "stringnotlike": opStringNotLike,
	"numericequals": opNumericEquals, "numericnotequals": opNumericNotEquals,
	"numericlessthan": opNumericLessThan, "numericlessthanequals": opNumericLessThanEquals,
	"numericgreaterthan": opNumericGreaterThan, "numericgreaterthanequals": opNumericGreaterThanEquals,
	"dateequals": opDateEquals, "datenotequals": opDateNotEquals,
	"datelessthan": opDateLessThan, "datelessthanequals": opDateLessThanEquals,
	"dategreaterthan": opDateGreaterThan, "dategreaterthanequals": opDateGreaterThanEquals,
	"bool": opBool, "ipaddress": opIPAddress, "notipaddress": opNotIPAddress,
}

func operatorNamed(name string) (operator, bool) {
	op, ok := operatorNames[strings.ToLower(name)]
	return op, ok
}

// negated operators hold when no value matches.
func (op operator) negated() bool {
	switch op {
	case opStringNotEquals, opStringNotEqualsIgnoreCase, opStringNotLike, opNumericNotEquals, opDateNotEquals, opNotIPAddress:
		return true
	}
	return false
}

// compile parses the values an operator compares with.
func (c *condition) compile(opName string) error {
	switch c.op {
	case opStringLike, opStringNotLike:
		for _, v := range c.values {
			c.globs = append(c.globs, compile(v, false))
		}
	case opIPAddress, opNotIPAddress:
		for _, v := range c.values {
			p, err := netip.ParsePrefix(v)
			if err != nil {
				a, aerr := netip.ParseAddr(v)
				if aerr != nil {
					return malformed("%s takes IP addresses or CIDR blocks, not %q", opName, clip(v))
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
			c.ips = append(c.ips, p.Masked())
		}
	case opDateEquals, opDateNotEquals, opDateLessThan, opDateLessThanEquals, opDateGreaterThan, opDateGreaterThanEquals:
		for _, v := range c.values {
			t, err := parseTime(v)
			if err != nil {
				return malformed("%s takes times such as 2026-01-02T15:04:05Z, not %q", opName, clip(v))
			}
			c.times = append(c.times, t)
		}
	case opNumericEquals, opNumericNotEquals, opNumericLessThan, opNumericLessThanEquals, opNumericGreaterThan, opNumericGreaterThanEquals:
		for _, v := range c.values {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return malformed("%s takes numbers, not %q", opName, clip(v))
			}
			c.nums = append(c.nums, f)
		}
	case opBool:
		for _, v := range c.values {
			if !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
				return malformed("Bool takes true or false, not %q", clip(v))
			}
		}
	}
	return nil
}

func parseTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02", v)
}

// Context keys esacert sets for every request.
const (
	KeySourceIP        = "acs:SourceIp"
	KeySecureTransport = "acs:SecureTransport"
	KeyCurrentTime     = "acs:CurrentTime"
)

// Request is what a decision is about.
type Request struct {
	Action   string // product:ActionName, such as esa:SetCertificate
	Resource string // an ARN, such as acs:esa:*:1234567890:site/42
	// Context holds the condition keys' values by lower-cased key; Set
	// fills it. acs:SourceIp, acs:SecureTransport and acs:CurrentTime are
	// set by the caller for every request.
	Context map[string]string
}

// Set records a condition key's value.
func (r *Request) Set(key, value string) {
	if r.Context == nil {
		r.Context = map[string]string{}
	}
	r.Context[strings.ToLower(key)] = value
}

// Decision is the outcome of Evaluate.
type Decision int

const (
	// ImplicitDeny: no statement allows the request.
	ImplicitDeny Decision = iota
	// Allowed: a statement allows it and none denies it.
	Allowed
	// ExplicitDeny: a Deny statement applies.
	ExplicitDeny
)

func (d Decision) String() string {
	switch d {
	case Allowed:
		return "Allow"
	case ExplicitDeny:
		return "ExplicitDeny"
	}
	return "ImplicitDeny"
}

// Evaluate decides req under the policies: ExplicitDeny when a Deny
// statement of any applies, else Allowed when an Allow statement applies,
// else ImplicitDeny. Nil policies are skipped.
func Evaluate(req Request, policies ...*Policy) Decision {
	req.Action = lowerASCII(req.Action) // once, not per pattern
	allowed := false
	for _, p := range policies {
		if p == nil {
			continue
		}
		for i := range p.statements {
			st := &p.statements[i]
			if (!st.deny && allowed) || !st.applies(&req) {
				continue
			}
			if st.deny {
				return ExplicitDeny
			}
			allowed = true
		}
	}
	if allowed {
		return Allowed
	}
	return ImplicitDeny
}

// Allows reports whether p alone allows req (no Deny of p applies, an Allow
// does): how a session policy narrows what a role may do.
func (p *Policy) Allows(req Request) bool { return Evaluate(req, p) == Allowed }

// applies reports whether the statement applies to req, whose Action is
// lower-cased (ASCII) already.
func (st *statement) applies(req *Request) bool {
	if anyMatchLowered(st.actions, req.Action) == st.notAction {
		return false
	}
	if anyMatch(st.resources, req.Resource) == st.notResource {
		return false
	}
	for i := range st.conditions {
		if !st.conditions[i].holds(req.Context) {
			return false
		}
	}
	return true
}

func anyMatchLowered(ps []pattern, s string) bool {
	for _, p := range ps {
		if p.matchLowered(s) {
			return true
		}
	}
	return false
}

func anyMatch(ps []pattern, s string) bool {
	for _, p := range ps {
		if p.match(s) {
			return true
		}
	}
	return false
}

// holds reports whether the condition holds in ctx. A key the request does
// not carry fails the condition, negated operators included.
func (c *condition) holds(ctx map[string]string) bool {
	v, ok := ctx[c.key]
	if !ok {
		return false
	}
	return c.matchesAny(v) != c.op.negated()
}

// matchesAny reports whether v matches one of the condition's values under
// the positive form of its operator.
func (c *condition) matchesAny(v string) bool {
	switch c.op {
	case opStringEquals, opStringNotEquals:
		for _, w := range c.values {
			if v == w {
				return true
			}
		}
	case opStringEqualsIgnoreCase, opStringNotEqualsIgnoreCase:
		for _, w := range c.values {
			if strings.EqualFold(v, w) {
				return true
			}
		}
	case opStringLike, opStringNotLike:
		return anyMatch(c.globs, v)
	case opBool:
		for _, w := range c.values {
			if strings.EqualFold(v, w) {
				return true
			}
		}
	case opIPAddress, opNotIPAddress:
		a, err := netip.ParseAddr(v)
		if err != nil {
			return false
		}
		a = a.Unmap()
		for _, p := range c.ips {
			if p.Contains(a) {
				return true
			}
		}
	case opDateEquals, opDateNotEquals, opDateLessThan, opDateLessThanEquals, opDateGreaterThan, opDateGreaterThanEquals:
		t, err := parseTime(v)
		if err != nil {
			return false
		}
		for _, w := range c.times {
			if compareHolds(c.op, t.Compare(w)) {
				return true
			}
		}
	default: // numeric
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return false
		}
		for _, w := range c.nums {
			cmp := 0
			if f < w {
				cmp = -1
			} else if f > w {
				cmp = 1
			}
			if compareHolds(c.op, cmp) {
				return true
			}
		}
	}
	return false
}

// compareHolds reports whether a comparison result (-1, 0, 1 of the
// request's value against the condition's) satisfies the positive operator.
func compareHolds(op operator, cmp int) bool {
	switch op {
	case opNumericEquals, opNumericNotEquals, opDateEquals, opDateNotEquals:
		return cmp == 0
	case opNumericLessThan, opDateLessThan:
		return cmp < 0
	case opNumericLessThanEquals, opDateLessThanEquals:
		return cmp <= 0
	case opNumericGreaterThan, opDateGreaterThan:
		return cmp > 0
	case opNumericGreaterThanEquals, opDateGreaterThanEquals:
		return cmp >= 0
	}
	return false
}
