package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// MaxDocumentSize is the largest policy document RAM accepts, in bytes.
const MaxDocumentSize = 6144

// ErrMalformed is the error of a document that is not a valid policy; the
// wrapping error says what is wrong (a public reason, without the document).
var ErrMalformed = errors.New("policy: malformed policy document")

// Effects of a statement.
const (
	Allow = "Allow"
	Deny  = "Deny"
)

// Policy is a parsed, checked and compiled policy document. It is
// immutable and safe for concurrent use.
type Policy struct {
	statements []statement
}

type statement struct {
	deny        bool
	actions     []pattern
	notAction   bool // actions is NotAction
	resources   []pattern
	notResource bool // resources is NotResource; no Resource at all matches every resource
	conditions  []condition
	principals  *principals // a trust policy's Principal; nil in a policy
}

type condition struct {
	op     operator
	key    string // lower-cased context key
	values []string
	ips    []netip.Prefix // IpAddress / NotIpAddress
	times  []time.Time    // Date…
	nums   []float64      // Numeric…
	globs  []pattern      // StringLike / StringNotLike
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// Parse checks and compiles a policy document. Errors wrap ErrMalformed and
// say what is wrong: the size, the JSON, the Version, a statement's Effect,
// Action, Resource or Condition.
func Parse(doc string) (*Policy, error) {
	sts, err := parseDocument(doc, false)
	if err != nil {
		return nil, err
	}
	return &Policy{statements: sts}, nil
}

// parseDocument checks and compiles a document's statements: those of an
// identity policy, or with trust set those of a role's trust policy.
func parseDocument(doc string, trust bool) ([]statement, error) {
	if len(doc) > MaxDocumentSize {
		return nil, malformed("the document is %d bytes, more than the %d allowed", len(doc), MaxDocumentSize)
	}
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var raw map[string]json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, malformed("the document is not a JSON object")
	}
	if dec.More() {
		return nil, malformed("the document has data after its JSON object")
	}
	for k := range raw {
		if k != "Version" && k != "Statement" {
			return nil, malformed("unknown element %q (a document has Version and Statement)", clip(k))
		}
	}
	var version string
	if err := json.Unmarshal(raw["Version"], &version); err != nil || version != "1" {
		return nil, malformed(`Version must be "1"`)
	}
	var rawStatements []json.RawMessage
	if err := unmarshalOneOrMany(raw["Statement"], &rawStatements); err != nil || len(rawStatements) == 0 {
		return nil, malformed("Statement must be a statement object or a non-empty list of them")
	}
	var out []statement
	for i, rs := range rawStatements {
		st, err := parseStatement(rs, trust)
		if err != nil {
			return nil, fmt.Errorf("%w (statement %d)", err, i+1)
		}
		out = append(out, st)
	}
	return out, nil
}

// MustParse is Parse for documents known to be valid (the system policies);
// it panics on an error.
func MustParse(doc string) *Policy {
	p, err := Parse(doc)
	if err != nil {
		panic(err)
	}
	return p
}

func parseStatement(data json.RawMessage, trust bool) (statement, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil || raw == nil {
		return statement{}, malformed("a statement must be a JSON object")
	}
	var st statement
	for k := range raw {
		switch k {
		case "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition", "Sid":
		case "Principal":
			if !trust {
				return statement{}, malformed(`unknown element "Principal" in a statement (a Principal belongs in a role's trust policy)`)
			}
		default:
			return statement{}, malformed("unknown element %q in a statement", clip(k))
		}
	}
	var effect string
	if err := json.Unmarshal(raw["Effect"], &effect); err != nil {
		return statement{}, malformed("Effect must be Allow or Deny")
	}
	switch {
	case strings.EqualFold(effect, Allow):
	case strings.EqualFold(effect, Deny):
		st.deny = true
	default:
		return statement{}, malformed("Effect must be Allow or Deny")
	}
	actions, notActions := raw["Action"], raw["NotAction"]
	switch {
	case actions != nil && notActions != nil:
		return statement{}, malformed("a statement has Action or NotAction, not both")
	case actions == nil && notActions == nil:
		return statement{}, malformed("a statement needs Action or NotAction")
	case notActions != nil:
		st.notAction, actions = true, notActions
	}
	list, err := stringList(actions)
	if err != nil || len(list) == 0 {
		return statement{}, malformed("Action must be a string or a non-empty list of strings")
	}
	for _, a := range list {
		if err := checkAction(a); err != nil {
			return statement{}, err
		}
		st.actions = append(st.actions, compile(a, true))
	}
	if trust {
		return parseTrustStatement(st, raw)
	}
	resources, notResources := raw["Resource"], raw["NotResource"]
	switch {
	case resources != nil && notResources != nil:
		return statement{}, malformed("a statement has Resource or NotResource, not both")
	case resources == nil && notResources == nil:
		return statement{}, malformed("a statement needs Resource or NotResource")
	case notResources != nil:
		st.notResource, resources = true, notResources
	}
	if list, err = stringList(resources); err != nil || len(list) == 0 {
		return statement{}, malformed("Resource must be a string or a non-empty list of strings")
	}
	for _, r := range list {
		if r == "" {
			return statement{}, malformed("a Resource is empty")
		}
		st.resources = append(st.resources, compile(r, false))
	}
	if c := raw["Condition"]; c != nil {
		if st.conditions, err = parseConditions(c); err != nil {
			return statement{}, err
		}
	}
	return st, nil
}

// checkAction accepts "product:ActionName", wildcards allowed anywhere,
// and a pattern with a wildcard that may stand for the colon ("*", "esa*").
func checkAction(a string) error {
	if a == "" || strings.ContainsAny(a, " \t\n") || !strings.ContainsAny(a, ":*?") {
		return malformed("Action %q is not product:ActionName", clip(a))
	}
	return nil
}

// parseConditions reads {"Operator": {"key": value or [values]}}.
func parseConditions(data json.RawMessage) ([]condition, error) {
	var ops map[string]map[string]json.RawMessage
	if err := json.Unmarshal(data, &ops); err != nil {
		return nil, malformed("Condition must map operators to {key: values}")
	}
	var out []condition
	for opName, keys := range ops {
		op, ok := operatorNamed(opName)
		if !ok {
			return nil, malformed("unknown condition operator %q", clip(opName))
		}
		if len(keys) == 0 {
			return nil, malformed("condition operator %s names no key", opName)
		}
		for key, rawValues := range keys {
			if key == "" {
				return nil, malformed("a condition key is empty")
			}
			values, err := scalarList(rawValues)
			if err != nil || len(values) == 0 {
				return nil, malformed("the values of %s %q must be a string, number or boolean, or a non-empty list of them", opName, clip(key))
			}
			c := condition{op: op, key: strings.ToLower(key), values: values}
			if err := c.compile(opName); err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// stringList reads a JSON string or list of strings.
func stringList(data json.RawMessage) ([]string, error) {
	var one string
	if err := json.Unmarshal(data, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(data, &many); err != nil {
		return nil, err
	}
	return many, nil
}

// scalarList reads a JSON scalar or list of scalars as strings.
func scalarList(data json.RawMessage) ([]string, error) {
	var raws []json.RawMessage
	if err := unmarshalOneOrMany(data, &raws); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(raws))
	for _, r := range raws {
		r = bytes.TrimSpace(r)
		switch {
		case len(r) > 0 && r[0] == '"':
			var s string
			if err := json.Unmarshal(r, &s); err != nil {
				return nil, err
			}
			out = append(out, s)
		case string(r) == "true" || string(r) == "false":
			out = append(out, string(r))
		default:
			if _, err := strconv.ParseFloat(string(r), 64); err != nil {
				return nil, errors.New("not a scalar")
			}
			out = append(out, string(r))
		}
	}
	return out, nil
}

// unmarshalOneOrMany reads a JSON value or list of values.
func unmarshalOneOrMany(data json.RawMessage, out *[]json.RawMessage) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return errors.New("absent")
	}
	if data[0] == '[' {
		return json.Unmarshal(data, out)
	}
	*out = []json.RawMessage{data}
	return nil
}

// clip bounds a piece of a document quoted in an error message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
