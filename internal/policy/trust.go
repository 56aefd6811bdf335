package policy

import (
	"encoding/json"
	"strings"
)

// Trust is a parsed, checked and compiled trust policy: the document of a
// RAM role that says who may assume it (AssumeRolePolicyDocument). Its
// statements have Effect, Action (sts:AssumeRole), Principal and an
// optional Condition, and no Resource. It is immutable and safe for
// concurrent use.
type Trust struct {
	statements []statement
}

// principals is a trust statement's Principal: RAM identities by ARN (or
// an account by its root ARN or bare id), cloud services, identity
// providers.
type principals struct {
	ram, service, federated []string
}

// ParseTrust checks and compiles a role's trust policy. Errors wrap
// ErrMalformed and say what is wrong, as Parse's do; a statement without a
// Principal, or with a Resource, is malformed.
func ParseTrust(doc string) (*Trust, error) {
	sts, err := parseDocument(doc, true)
	if err != nil {
		return nil, err
	}
	return &Trust{statements: sts}, nil
}

func parseTrustStatement(st statement, raw map[string]json.RawMessage) (statement, error) {
	if raw["Resource"] != nil || raw["NotResource"] != nil {
		return statement{}, malformed("a trust policy's statement has no Resource")
	}
	rawPrincipal := raw["Principal"]
	if rawPrincipal == nil {
		return statement{}, malformed("a trust policy's statement needs a Principal")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(rawPrincipal, &m); err != nil || len(m) == 0 {
		return statement{}, malformed(`Principal must be an object such as {"RAM":["acs:ram::<account id>:root"]}`)
	}
	p := &principals{}
	for k, v := range m {
		list, err := stringList(v)
		if err != nil || len(list) == 0 {
			return statement{}, malformed("the Principal %q must be a string or a non-empty list of strings", clip(k))
		}
		for _, e := range list {
			if e == "" {
				return statement{}, malformed("a Principal %q is empty", clip(k))
			}
		}
		switch k {
		case "RAM":
			p.ram = list
		case "Service":
			p.service = list
		case "Federated":
			p.federated = list
		default:
			return statement{}, malformed("unknown Principal %q (RAM, Service or Federated)", clip(k))
		}
	}
	st.principals = p
	if c := raw["Condition"]; c != nil {
		var err error
		if st.conditions, err = parseConditions(c); err != nil {
			return statement{}, err
		}
	}
	return st, nil
}

// Caller is who asks to assume a role: the account it belongs to and the
// ARNs it answers to (a RAM user's acs:ram::<account>:user/<name>; a role
// session's role ARN and assumed-role ARN).
type Caller struct {
	Account string
	ARNs    []string
}

// Evaluate decides whether the trust policy lets caller do req.Action
// (sts:AssumeRole) in req's context: ExplicitDeny when a Deny statement
// naming the caller applies, else Allowed when an Allow statement does,
// else ImplicitDeny. A RAM principal names the caller when it is "*", one
// of the caller's ARNs, the caller's account as acs:ram::<account>:root or
// the bare account id. Service and Federated principals never name a
// caller that signs with an access key.
func (t *Trust) Evaluate(req Request, caller Caller) Decision {
	allowed := false
	for i := range t.statements {
		st := &t.statements[i]
		if !st.principals.names(caller) || anyMatch(st.actions, req.Action) == st.notAction {
			continue
		}
		holds := true
		for j := range st.conditions {
			if !st.conditions[j].holds(req.Context) {
				holds = false
				break
			}
		}
		if !holds {
			continue
		}
		if st.deny {
			return ExplicitDeny
		}
		allowed = true
	}
	if allowed {
		return Allowed
	}
	return ImplicitDeny
}

func (p *principals) names(c Caller) bool {
	if p == nil {
		return false
	}
	for _, e := range p.ram {
		switch {
		case e == "*":
			return true
		case c.Account != "" && (e == "acs:ram::"+c.Account+":root" || e == c.Account):
			return true
		}
		for _, arn := range c.ARNs {
			if strings.EqualFold(e, arn) {
				return true
			}
		}
	}
	return false
}

// MustParseTrust is ParseTrust for documents known to be valid; it panics
// on an error.
func MustParseTrust(doc string) *Trust {
	t, err := ParseTrust(doc)
	if err != nil {
		panic(err)
	}
	return t
}
