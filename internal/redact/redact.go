package redact

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Mask is what Param shows instead of a secret.
const Mask = "****"

// secretNames is THE list of secret-bearing names: a parameter, header or
// JSON field whose name, lower-cased and stripped of '_', '-' and '.',
// equals a name here (or, for within, contains it) carries a secret. It
// errs on the side of masking: a tag's "Key" or a paging "NextToken" is
// masked too.
var secretNames = []struct {
	name   string
	within bool // also secret-bearing when the name only contains it
}{
	{"authconf", false},  // a DNS record's origin authentication: {"AccessKey","SecretKey",…}
	{"key", false},       // UploadUserCertificate's private key
	{"accesskey", false}, // AuthConf's access key, sealed at rest like its SecretKey
	{"privatekey", true}, // PrivateKey, EncryptPrivateKey, SignPrivateKey, …
	{"secret", true},     // SecretKey, AccessKeySecret, ClientSecret, …
	{"password", true},
	{"passwd", true},
	{"passphrase", true},
	{"token", true}, // SecurityToken, x-acs-security-token, …
}

// IsSecret reports whether a parameter, header or JSON field is
// secret-bearing by its name (case and '_', '-', '.' do not matter).
func IsSecret(name string) bool {
	n := normalize(name)
	for _, s := range secretNames {
		if n == s.name || s.within && strings.Contains(n, s.name) {
			return true
		}
	}
	return false
}

func normalize(name string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '_', '-', '.':
			return -1
		}
		return unicode.ToLower(r)
	}, name)
}

// HasKeyMaterial reports whether s holds PEM private key text (a "PRIVATE
// KEY" label of any kind: PKCS #8, RSA, EC, encrypted, OpenSSH).
func HasKeyMaterial(s string) bool { return strings.Contains(s, "PRIVATE KEY") }

// CarriesSecret reports whether a parameter may carry a secret: its name is
// secret-bearing, its value holds PEM private key text, or its value is JSON
// with a secret-bearing field at any depth (JSON inside JSON strings
// included), whatever that field's value, empty too. A value that looks
// like a JSON object or array but does not decode carries one when it
// mentions a secret-bearing name anywhere, since its fields cannot be told.
func CarriesSecret(name, value string) bool {
	if IsSecret(name) || HasKeyMaterial(value) {
		return true
	}
	v, isJSON, ok := decodeJSON(value, 0)
	if !isJSON {
		return false
	}
	if !ok {
		return mentionsSecret(value)
	}
	_, _, found := walk(v, false, 0)
	return found
}

// mentionsSecret reports whether text that does not decode names a
// secret-bearing field: a name of the list in quotes, or one that may
// appear within a name anywhere.
func mentionsSecret(s string) bool {
	n := normalize(s)
	for _, x := range secretNames {
		if strings.Contains(n, `"`+x.name+`"`) || x.within && strings.Contains(n, x.name) {
			return true
		}
	}
	return false
}

// Param returns a parameter's value for display with every secret masked:
//
//   - a JSON object or array (also under a secret-bearing name, such as
//     AuthConf) keeps its shape, and each field is judged by its own name:
//     the values of secret-bearing fields become Mask, nested objects and
//     JSON inside strings included; what is not secret is kept;
//   - a JSON-looking value that does not decode becomes Mask when it
//     mentions a secret-bearing name (see CarriesSecret);
//   - any other value of a secret-bearing name, and any value holding PEM
//     private key text, becomes Mask.
//
// Empty values stay empty (saying a secret was cleared gives nothing away).
// A value with nothing to mask is returned as it is; a masked JSON value is
// re-encoded (keys sorted).
func Param(name, value string) string {
	if value == "" {
		return ""
	}
	v, isJSON, ok := decodeJSON(value, 0)
	switch {
	case isJSON && !ok && mentionsSecret(value):
		return Mask
	case isJSON && !ok:
		return value
	case isJSON:
		out, masked, _ := walk(v, IsSecret(name), 0)
		if !masked {
			return value
		}
		return encode(out)
	case IsSecret(name) || HasKeyMaterial(value):
		return Mask
	}
	return value
}

// maxDepth bounds how many JSON texts inside JSON strings are opened.
const maxDepth = 4

// decodeJSON decodes s when it looks like a JSON object or array. isJSON
// says whether it looks like one; ok whether it decoded, as one value with
// nothing after it.
func decodeJSON(s string, depth int) (v any, isJSON, ok bool) {
	t := strings.TrimSpace(s)
	if t == "" || t[0] != '{' && t[0] != '[' {
		return nil, false, false
	}
	if depth > maxDepth {
		return nil, true, false
	}
	dec := json.NewDecoder(strings.NewReader(t))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, true, false
	}
	return v, true, true
}

// walk masks v, whose enclosing name is secret-bearing when secret. masked
// reports whether anything was replaced; found whether a secret-bearing
// field or key material was met, masked or not (an empty secret is found
// but not masked).
func walk(v any, secret bool, depth int) (out any, masked, found bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			s := IsSecret(k)
			m, mk, f := walk(e, s, depth)
			x[k] = m
			masked, found = masked || mk, found || s || f
		}
		return x, masked, found
	case []any:
		for i, e := range x {
			m, mk, f := walk(e, secret, depth)
			x[i] = m
			masked, found = masked || mk, found || f
		}
		return x, masked, found
	case string:
		if inner, isJSON, ok := decodeJSON(x, depth+1); isJSON {
			if !ok {
				if mentionsSecret(x) {
					return Mask, true, true
				}
				return x, false, false
			}
			m, mk, f := walk(inner, secret, depth+1)
			if !mk {
				return x, false, secret || f
			}
			return encode(m), true, true
		}
		if x == "" {
			return x, false, secret
		}
		if secret || HasKeyMaterial(x) {
			return Mask, true, true
		}
		return x, false, false
	case nil:
		return nil, false, secret
	default: // json.Number, bool
		if secret {
			return Mask, true, true
		}
		return x, false, false
	}
}

func encode(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return Mask
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// minClean is the smallest bound Clean honours: room for its markers.
const minClean = 32

// Clean returns s fit for a log line:
//
//   - anything that looks like key material (PEM text of any kind, or a run
//     of 64 or more base64 characters, the length of a PEM line) becomes
//     "[redacted: N bytes]";
//   - control and other non-printable characters, and bytes that are not
//     UTF-8, become '?';
//   - a value longer than bound bytes is cut, at a character boundary, and
//     ends in "…[N bytes]" with its full length.
//
// The result is at most bound bytes long (a bound below 32 counts as 32), so
// that a log line's size does not depend on what a client sends.
func Clean(s string, bound int) string {
	bound = max(bound, minClean)
	if looksLikeKey(s) {
		return redacted(s)
	}
	if len(s) <= bound && printableASCII(s) {
		return s
	}
	room, suffix := bound, ""
	if len(s) > bound {
		suffix = "…[" + strconv.Itoa(len(s)) + " bytes]"
		room -= len(suffix)
	}
	var b strings.Builder
	b.Grow(min(len(s), bound))
	for _, r := range s { // a byte that is not UTF-8 comes as RuneError
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			r = '?'
		}
		if b.Len()+utf8.RuneLen(r) > room {
			break
		}
		b.WriteRune(r)
	}
	b.WriteString(suffix)
	return b.String()
}

// Prefix returns at most the first n bytes of s (cut at a character
// boundary) cleaned as by Clean, followed by "…[N bytes]" with the full
// length when s is longer; key-like text is redacted as by Clean. It shows
// enough of an identifier to recognise it, and not all of a secret pasted in
// its place.
func Prefix(s string, n int) string {
	if looksLikeKey(s) {
		return redacted(s)
	}
	if len(s) <= n {
		return Clean(s, n)
	}
	cut := max(n, 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return Clean(s[:cut], n) + "…[" + strconv.Itoa(len(s)) + " bytes]"
}

func redacted(s string) string { return "[redacted: " + strconv.Itoa(len(s)) + " bytes]" }

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// looksLikeKey reports PEM text or a base64 run as long as a PEM line.
func looksLikeKey(s string) bool {
	if HasKeyMaterial(s) || strings.Contains(s, "-----BEGIN") {
		return true
	}
	run := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '=' {
			if run++; run >= 64 {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}
