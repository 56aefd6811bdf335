package api

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/identity"
)

// params are a request's business parameters: the query and the form body
// merged, the body winning for a name present in both. Only the first value
// of a repeated name counts.
type params struct {
	v url.Values
	// caller is who signed the request: the actions that act on the
	// caller's own user (CreateAccessKey without UserName) read it.
	caller *identity.Identity
	// conditions are the request's policy condition keys (acs:SourceIp, …,
	// lower-cased): authorization decides with them, and AssumeRole gives
	// them to the role's trust policy.
	conditions map[string]string
}

// mergeParams merges query and body into one set.
func mergeParams(query, body url.Values) url.Values {
	m := make(url.Values, len(query)+len(body))
	for k, v := range query {
		m[k] = v
	}
	for k, v := range body {
		m[k] = v
	}
	return m
}

// maxParamName bounds a parameter name; no API parameter comes near it.
const maxParamName = 128

// checkParams refuses what no client sends and what could be read two ways:
// a name given twice in one place (query or body), and names or values that
// are not UTF-8 or hold a NUL character. A value that is JSON (an object or
// a list: Tag, TagKey, Data, Settings, …) is held to the same rule once
// decoded: every string in it, keys included, so that a JSON escape
// ("\u0000") cannot bring in what the raw value may not hold. This is the
// one place every JSON parameter passes through, whichever layer decodes it.
func checkParams(v url.Values) error {
	for name, values := range v {
		if !utf8.ValidString(name) || strings.ContainsRune(name, 0) || len(name) > maxParamName || name == "" {
			return domain.Invalid("(parameter name)", "parameter names must be short UTF-8 text")
		}
		if len(values) > 1 {
			return domain.Invalid(name, "is given more than once")
		}
		for _, value := range values {
			if !plainText(value) || !jsonText(value) {
				return domain.Invalid(name, "must be UTF-8 text without NUL characters")
			}
		}
	}
	return nil
}

// plainText reports whether s is UTF-8 without a NUL character, as every
// stored text must be (PostgreSQL's text holds no NUL).
func plainText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// jsonText reports whether every string of v, read as JSON when it starts
// with { or [, is plainText. Reading stops at the first syntax error (the
// action refuses a malformed value itself; no decoder takes a string past
// it); a value that is not an object or a list is not JSON to any action.
func jsonText(v string) bool {
	t := strings.TrimSpace(v) // as much as any action trims before decoding
	if t == "" || t[0] != '{' && t[0] != '[' || !strings.Contains(t, `\u`) {
		return true // without a \u escape, a decoded string is the raw text's
	}
	dec := json.NewDecoder(strings.NewReader(t))
	for {
		tok, err := dec.Token()
		if err != nil {
			return true
		}
		if s, ok := tok.(string); ok && !plainText(s) {
			return false
		}
	}
}

// str returns the parameter's value, or "".
func (p *params) str(name string) string { return p.v.Get(name) }

// has reports whether the parameter was sent, even empty.
func (p *params) has(name string) bool { _, ok := p.v[name]; return ok }

// required returns the parameter's value, or a ParamError when it is absent or empty.
func (p *params) required(name string) (string, error) {
	v := p.v.Get(name)
	if v == "" {
		return "", domain.Missing(name)
	}
	return v, nil
}

// int64 parses an integer parameter; an absent or empty one is 0.
func (p *params) int64(name string) (int64, error) {
	v := p.v.Get(name)
	if strings.TrimSpace(v) == "" {
		return 0, nil
	}
	n, err := parseInt(v)
	if err != nil {
		return 0, domain.Invalid(name, "must be an integer")
	}
	return n, nil
}

// parseInt reads an integer as every action reads one (ids among them):
// surrounding space trimmed, then base 10 with an optional sign, so "07",
// "+7" and " 7" are all 7. Authorization reads ids with it too
// (canonicalID), so that no spelling of an id is a different resource.
func parseInt(v string) (int64, error) { return strconv.ParseInt(strings.TrimSpace(v), 10, 64) }

// requiredInt64 parses a required integer parameter.
func (p *params) requiredInt64(name string) (int64, error) {
	if strings.TrimSpace(p.v.Get(name)) == "" {
		return 0, domain.Missing(name)
	}
	return p.int64(name)
}

// siteAndID reads the SiteId and Id that every action on one certificate
// of a site takes (edge, origin and client certificates alike), both
// required, SiteId first.
func (p *params) siteAndID() (int64, string, error) {
	siteID, err := p.requiredInt64("SiteId")
	if err != nil {
		return 0, "", err
	}
	id, err := p.required("Id")
	if err != nil {
		return 0, "", err
	}
	return siteID, id, nil
}

// int parses a small integer parameter; an absent or empty one is 0.
func (p *params) int(name string) (int, error) {
	n, err := p.int64(name)
	if err != nil {
		return 0, err
	}
	if n > 1<<31-1 || n < -(1<<31) {
		return 0, domain.Invalid(name, "is out of range")
	}
	return int(n), nil
}

// boolean parses true/false (any case) or 1/0; an absent or empty one is false.
func (p *params) boolean(name string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(p.v.Get(name))) {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	}
	return false, domain.Invalid(name, "must be true or false")
}

// page parses PageNumber and PageSize.
func (p *params) page(defaultSize, maxSize int) (domain.Page, error) {
	n, err := p.int64("PageNumber")
	if err != nil {
		return domain.Page{}, err
	}
	size, err := p.int64("PageSize")
	if err != nil {
		return domain.Page{}, err
	}
	return domain.Paging(n, size, defaultSize, maxSize)
}
