package cert

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/site"
)

// HTTPS configuration families (esa-more-api.md §4.1): the basic family
// holds the TLS and protocol switches, the application family what happens
// to requests (forced HTTPS, HSTS, Alt-Svc, SNI checks).
const (
	FamilyHTTPSBasic       = "basic"
	FamilyHTTPSApplication = "application"
)

// Configuration types. A configuration created without Rule, RuleName and
// RuleEnable is global, and a site has at most one global configuration per
// family; every other configuration is a rule configuration.
const (
	ConfigGlobal = "global"
	ConfigRule   = "rule"
)

// Switch values.
const (
	On  = "on"
	Off = "off"
)

// Cipher suite groups (CiphersuiteGroup, ListCiphers' CiphersGroup).
const (
	CiphersAll    = "all"    // every suite crypto/tls implements without known issues; TLS 1.0–1.3
	CiphersStrict = "strict" // AEAD suites with forward secrecy only; TLS 1.2 and 1.3
	CiphersCustom = "custom" // the suites Ciphersuite names
)

// Bounds of the free-text fields of a configuration.
const (
	MaxRule      = 4096 // bytes of a Rule expression
	MaxRuleName  = 128  // characters of a RuleName
	MaxHTTPSText = 4096 // bytes of Ciphersuite or HttpsSniWhitelist
)

// HTTPSBasic is an HTTPS basic configuration of a site: the TLS and
// protocol switches for the hosts its rule matches (all hosts for a global
// configuration). Configurations are values; the store hands out copies.
//
// Every setting is a string holding exactly what the client set: "" means
// unset. Unset settings are left out of API answers (so that a client reads
// back what it wrote) and take their defaults at the edge (see
// DefaultHTTPSBasic and EffectiveHTTPS).
type HTTPSBasic struct {
	ConfigID   int64
	SiteID     int64
	ConfigType string // ConfigGlobal or ConfigRule; set by the service
	Rule       string // rule configurations only: the expression as sent (see ParseRule)
	RuleName   string // rule configurations only; free text
	RuleEnable string // rule configurations only: on, off, or "" (counts as on)
	Sequence   int    // rules run in Sequence order, smaller first, and later ones override

	Https            string // on or off
	Http2            string // on or off
	Http3            string // off (on is not supported yet)
	Tls10            string // on or off
	Tls11            string // on or off
	Tls12            string // on or off
	Tls13            string // on or off
	CiphersuiteGroup string // all, strict or custom
	Ciphersuite      string // IANA suite names separated by commas; used when the group is custom
	OcspStapling     string // off (on is not supported yet)
}

// HTTPSApplication is an HTTPS application configuration of a site: what
// the edge does with requests for the hosts its rule matches. Settings are
// strings holding exactly what the client set, "" meaning unset, as in
// HTTPSBasic; the numbers among them are decimal strings, as ESA has them.
type HTTPSApplication struct {
	ConfigID    int64
	SiteID      int64
	ConfigType  string // ConfigGlobal or ConfigRule; set by the service
	Rule        string
	RuleName    string
	RuleEnable  string
	Sequence    int
	SiteVersion int // always 0: esacert sites have no configuration versions

	HttpsForce            string // on or off: redirect plain HTTP to HTTPS
	HttpsForceCode        string // 301, 302, 307 or 308
	Hsts                  string // on or off
	HstsMaxAge            string // seconds
	HstsIncludeSubdomains string // on or off
	HstsPreload           string // on or off
	AltSvc                string // on or off
	AltSvcClear           string // on or off
	AltSvcMa              string // seconds
	AltSvcPersist         string // on or off
	HttpsNoSniDeny        string // on or off: refuse handshakes without SNI
	HttpsSniVerify        string // on or off
	HttpsSniWhitelist     string // server names separated by spaces
}

// HTTPSConfig is a configuration of either family as the store keeps it:
// the fields both families share, and the family's settings that the
// client set, by parameter name. HTTPSBasic.Config, HTTPSApplication.Config
// and HTTPSConfig.Basic and .Application convert.
type HTTPSConfig struct {
	Family      string // FamilyHTTPSBasic or FamilyHTTPSApplication
	ConfigID    int64
	SiteID      int64
	ConfigType  string
	Rule        string
	RuleName    string
	RuleEnable  string
	Sequence    int
	SiteVersion int
	// Settings maps a setting's parameter name (Https, Tls13, HstsMaxAge …)
	// to its value; settings the client did not set are absent, never "".
	Settings map[string]string
}

// HTTPSFilter selects configurations of one family of one site.
type HTTPSFilter struct {
	Family      string // set by the service
	SiteID      int64
	ConfigID    int64  // 0 selects any
	ConfigType  string // "" selects both
	RuleName    string // "" selects any; else the exact name
	SiteVersion int    // esacert keeps version 0 only, so another value selects nothing
	Page        domain.Page
}

// HTTPSStore is what the HTTPS configuration use cases need from storage.
// Methods are safe for concurrent use and return domain sentinels. The
// Service finds it on its Sites store: a SiteStore that also implements
// HTTPSStore keeps HTTPS configurations (sqlstore.Store does).
type HTTPSStore interface {
	// CreateHTTPSConfig inserts c. In one transaction it checks that the
	// site exists (else ErrSiteNotFound) and, for a global c, that the site
	// has no global configuration of c.Family (else ErrGlobalConfigExists).
	// A clash on c.ConfigID is ErrExists, so the caller can draw another id.
	CreateHTTPSConfig(ctx context.Context, c HTTPSConfig) error
	// HTTPSConfig returns a configuration of a family of a site, or ErrConfigNotFound.
	HTTPSConfig(ctx context.Context, family string, siteID, id int64) (HTTPSConfig, error)
	// ListHTTPSConfigs returns one page of the configurations that match f,
	// the global one first, then by Sequence and ConfigID, and how many
	// match in all.
	ListHTTPSConfigs(ctx context.Context, f HTTPSFilter) ([]HTTPSConfig, int, error)
	// UpdateHTTPSConfig calls update with the configuration, locked for the
	// rest of one transaction, and stores what update leaves unless it
	// returns an error, which is returned as is. Only Rule, RuleName,
	// RuleEnable, Sequence and Settings change. A missing configuration is
	// ErrConfigNotFound. It returns the stored configuration.
	UpdateHTTPSConfig(ctx context.Context, family string, siteID, id int64, update func(*HTTPSConfig) error) (HTTPSConfig, error)
	// DeleteHTTPSConfig removes a configuration, or returns ErrConfigNotFound.
	DeleteHTTPSConfig(ctx context.Context, family string, siteID, id int64) error
}

// settingKind says which values a setting takes.
type settingKind int

const (
	kindSwitch   settingKind = iota // on or off
	kindRedirect                    // 301, 302, 307 or 308
	kindSeconds                     // a decimal number of seconds
	kindGroup                       // all, strict or custom
	kindCiphers                     // IANA cipher suite names separated by commas
	kindText                        // free text
)

// setting is one setting of a family: its parameter name, its kind and
// the field that holds it.
type setting struct {
	name string
	kind settingKind
	p    *string
}

func (b *HTTPSBasic) settings() []setting {
	return []setting{
		{"Https", kindSwitch, &b.Https},
		{"Http2", kindSwitch, &b.Http2},
		{"Http3", kindSwitch, &b.Http3},
		{"Tls10", kindSwitch, &b.Tls10},
		{"Tls11", kindSwitch, &b.Tls11},
		{"Tls12", kindSwitch, &b.Tls12},
		{"Tls13", kindSwitch, &b.Tls13},
		{"CiphersuiteGroup", kindGroup, &b.CiphersuiteGroup},
		{"Ciphersuite", kindCiphers, &b.Ciphersuite},
		{"OcspStapling", kindSwitch, &b.OcspStapling},
	}
}

func (a *HTTPSApplication) settings() []setting {
	return []setting{
		{"HttpsForce", kindSwitch, &a.HttpsForce},
		{"HttpsForceCode", kindRedirect, &a.HttpsForceCode},
		{"Hsts", kindSwitch, &a.Hsts},
		{"HstsMaxAge", kindSeconds, &a.HstsMaxAge},
		{"HstsIncludeSubdomains", kindSwitch, &a.HstsIncludeSubdomains},
		{"HstsPreload", kindSwitch, &a.HstsPreload},
		{"AltSvc", kindSwitch, &a.AltSvc},
		{"AltSvcClear", kindSwitch, &a.AltSvcClear},
		{"AltSvcMa", kindSeconds, &a.AltSvcMa},
		{"AltSvcPersist", kindSwitch, &a.AltSvcPersist},
		{"HttpsNoSniDeny", kindSwitch, &a.HttpsNoSniDeny},
		{"HttpsSniVerify", kindSwitch, &a.HttpsSniVerify},
		{"HttpsSniWhitelist", kindText, &a.HttpsSniWhitelist},
	}
}

// familySettings returns the settings table of a family (pointing at a
// throwaway value), or nil for an unknown family.
func familySettings(family string) []setting {
	switch family {
	case FamilyHTTPSBasic:
		return (&HTTPSBasic{}).settings()
	case FamilyHTTPSApplication:
		return (&HTTPSApplication{}).settings()
	}
	return nil
}

func settingsMap(table []setting) map[string]string {
	m := map[string]string{}
	for _, f := range table {
		if *f.p != "" {
			m[f.name] = *f.p
		}
	}
	return m
}

func fillSettings(table []setting, m map[string]string) {
	for _, f := range table {
		*f.p = m[f.name]
	}
}

// Config returns b as the store keeps it.
func (b HTTPSBasic) Config() HTTPSConfig {
	return HTTPSConfig{Family: FamilyHTTPSBasic, ConfigID: b.ConfigID, SiteID: b.SiteID, ConfigType: b.ConfigType,
		Rule: b.Rule, RuleName: b.RuleName, RuleEnable: b.RuleEnable, Sequence: b.Sequence,
		Settings: settingsMap(b.settings())}
}

// Config returns a as the store keeps it.
func (a HTTPSApplication) Config() HTTPSConfig {
	return HTTPSConfig{Family: FamilyHTTPSApplication, ConfigID: a.ConfigID, SiteID: a.SiteID, ConfigType: a.ConfigType,
		Rule: a.Rule, RuleName: a.RuleName, RuleEnable: a.RuleEnable, Sequence: a.Sequence, SiteVersion: a.SiteVersion,
		Settings: settingsMap(a.settings())}
}

// Basic returns c as an HTTPSBasic; settings of the other family are dropped.
func (c HTTPSConfig) Basic() HTTPSBasic {
	b := HTTPSBasic{ConfigID: c.ConfigID, SiteID: c.SiteID, ConfigType: c.ConfigType, Rule: c.Rule,
		RuleName: c.RuleName, RuleEnable: c.RuleEnable, Sequence: c.Sequence}
	fillSettings(b.settings(), c.Settings)
	return b
}

// Application returns c as an HTTPSApplication; settings of the other family are dropped.
func (c HTTPSConfig) Application() HTTPSApplication {
	a := HTTPSApplication{ConfigID: c.ConfigID, SiteID: c.SiteID, ConfigType: c.ConfigType, Rule: c.Rule,
		RuleName: c.RuleName, RuleEnable: c.RuleEnable, Sequence: c.Sequence, SiteVersion: c.SiteVersion}
	fillSettings(a.settings(), c.Settings)
	return a
}

// DefaultHTTPSBasic is what a host gets when no configuration sets a
// field: HTTPS and HTTP/2 on, HTTP/3 off, TLS 1.1 to 1.3 (TLS 1.0 off),
// all cipher suites, no OCSP stapling.
func DefaultHTTPSBasic() HTTPSBasic {
	return HTTPSBasic{Https: On, Http2: On, Http3: Off, Tls10: Off, Tls11: On, Tls12: On, Tls13: On,
		CiphersuiteGroup: CiphersAll, OcspStapling: Off}
}

// DefaultHTTPSApplication is what a host gets when no configuration sets
// a field: every switch off, redirects (once forced) with 301, Alt-Svc
// max-age 86400. HstsMaxAge has no default and stays "".
func DefaultHTTPSApplication() HTTPSApplication {
	return HTTPSApplication{HttpsForce: Off, HttpsForceCode: "301", Hsts: Off, HstsIncludeSubdomains: Off,
		HstsPreload: Off, AltSvc: Off, AltSvcClear: Off, AltSvcMa: "86400", AltSvcPersist: Off,
		HttpsNoSniDeny: Off, HttpsSniVerify: Off}
}

// EffectiveHTTPS resolves the settings of one host of a site from the
// site's configurations: the defaults, then the global configuration, then
// the enabled rule configurations whose Rule matches host, in Sequence
// order (smaller first; ties by ConfigID), each overriding only the fields
// it sets. host is compared lowercase without a trailing dot. A rule that
// does not parse matches nothing. The results carry settings only: their
// ids, type and rule fields are zero.
func EffectiveHTTPS(basics []HTTPSBasic, apps []HTTPSApplication, host string) (HTTPSBasic, HTTPSApplication) {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	b := DefaultHTTPSBasic()
	for _, c := range applicable(basics, HTTPSBasic.Config, host) {
		overlay(b.settings(), c.Settings)
	}
	a := DefaultHTTPSApplication()
	for _, c := range applicable(apps, HTTPSApplication.Config, host) {
		overlay(a.settings(), c.Settings)
	}
	return b, a
}

// applicable returns the configurations that apply to host, in the order
// they apply.
func applicable[T any](list []T, config func(T) HTTPSConfig, host string) []HTTPSConfig {
	var out []HTTPSConfig
	for _, x := range list {
		c := config(x)
		if c.ConfigType == ConfigRule {
			if c.RuleEnable == Off {
				continue
			}
			m, err := ParseRule(c.Rule)
			if err != nil || !m.Matches(host) {
				continue
			}
		}
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool {
		gi, gj := out[i].ConfigType != ConfigRule, out[j].ConfigType != ConfigRule
		if gi != gj {
			return gi // the global configuration first
		}
		if out[i].Sequence != out[j].Sequence {
			return out[i].Sequence < out[j].Sequence
		}
		return out[i].ConfigID < out[j].ConfigID
	})
	return out
}

func overlay(table []setting, m map[string]string) {
	for _, f := range table {
		if v := m[f.name]; v != "" {
			*f.p = v
		}
	}
}

// CipherSuiteNames returns the IANA names of the cipher suites esacert's
// edge uses for a cipher suite group, in crypto/tls's order: for all every
// suite crypto/tls implements without known security issues
// (tls.CipherSuites, TLS 1.0–1.3), for strict the AEAD ones among them
// (TLS 1.2 and 1.3), and for custom the suites a client may choose from
// (the same as all). ok is false for an unknown group.
func CipherSuiteNames(group string) (names []string, ok bool) {
	suites, ok := groupSuites(group)
	for _, cs := range suites {
		names = append(names, cs.Name)
	}
	return names, ok
}

func groupSuites(group string) ([]*tls.CipherSuite, bool) {
	switch group {
	case CiphersAll, CiphersCustom:
		return tls.CipherSuites(), true
	case CiphersStrict:
		var out []*tls.CipherSuite
		for _, cs := range tls.CipherSuites() {
			if !strings.Contains(cs.Name, "_CBC_") {
				out = append(out, cs)
			}
		}
		return out, true
	}
	return nil, false
}

// CipherSuiteIDs returns the suites b's group stands for, for
// tls.Config.CipherSuites, which governs TLS 1.0–1.2 only (TLS 1.3 suites
// are not configurable and are left out): every suite of group all when
// the group is all or unset, the strict ones for strict, and those
// Ciphersuite names for custom. The result is never nil, so that a custom
// list of TLS 1.3 suites only really leaves TLS 1.2 without suites.
func (b HTTPSBasic) CipherSuiteIDs() []uint16 {
	group := b.CiphersuiteGroup
	if group == "" {
		group = CiphersAll
	}
	ids := []uint16{}
	if group == CiphersCustom {
		byName := map[string]*tls.CipherSuite{}
		for _, cs := range tls.CipherSuites() {
			byName[cs.Name] = cs
		}
		for _, name := range splitSuites(b.Ciphersuite) {
			if cs, ok := byName[name]; ok && !tls13Only(cs) {
				ids = append(ids, cs.ID)
			}
		}
		return ids
	}
	suites, _ := groupSuites(group)
	for _, cs := range suites {
		if !tls13Only(cs) {
			ids = append(ids, cs.ID)
		}
	}
	return ids
}

func tls13Only(cs *tls.CipherSuite) bool {
	return len(cs.SupportedVersions) == 1 && cs.SupportedVersions[0] == tls.VersionTLS13
}

// splitSuites splits a Ciphersuite value at its commas, trimming spaces.
func splitSuites(v string) []string {
	var out []string
	for _, n := range strings.Split(v, ",") {
		out = append(out, strings.TrimSpace(n))
	}
	return out
}

// Ciphers returns the suite names of a cipher suite group, for ListCiphers.
func (s *Service) Ciphers(group string) ([]string, error) {
	if group == "" {
		return nil, domain.Missing("CiphersGroup")
	}
	names, ok := CipherSuiteNames(group)
	if !ok {
		return nil, domain.Invalid("CiphersGroup", "must be all, strict or custom")
	}
	return names, nil
}

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

// validateHTTPS checks a configuration about to be stored on site.
func validateHTTPS(c HTTPSConfig, st site.Site) error {
	table := familySettings(c.Family)
	if table == nil {
		return fmt.Errorf("cert: unknown HTTPS configuration family %q", c.Family)
	}
	switch c.ConfigType {
	case ConfigGlobal:
		for _, f := range []struct{ name, v string }{{"Rule", c.Rule}, {"RuleName", c.RuleName}, {"RuleEnable", c.RuleEnable}} {
			if f.v != "" {
				return domain.Invalid(f.name, "a global configuration has no rule; create a rule configuration (with Rule) instead")
			}
		}
	case ConfigRule:
		if c.Rule == "" {
			return domain.Missing("Rule")
		}
		m, err := ParseRule(c.Rule)
		if err != nil {
			return err
		}
		for _, h := range m.Hosts {
			if h != st.Name && !strings.HasSuffix(h, "."+st.Name) {
				return domain.Invalid("Rule", fmt.Sprintf("host %s is not %s or a host under it", h, st.Name))
			}
		}
		if utf8.RuneCountInString(c.RuleName) > MaxRuleName {
			return domain.Invalid("RuleName", fmt.Sprintf("is at most %d characters long", MaxRuleName))
		}
		if c.RuleEnable != "" && c.RuleEnable != On && c.RuleEnable != Off {
			return domain.Invalid("RuleEnable", "must be on or off")
		}
	default:
		return fmt.Errorf("cert: unknown configuration type %q", c.ConfigType)
	}
	if c.Sequence < 0 || c.Sequence > math.MaxInt32 {
		return domain.Invalid("Sequence", "must be between 0 and 2147483647")
	}
	if c.SiteVersion != 0 {
		return domain.Invalid("SiteVersion", "esacert sites have no configuration versions (VersionManagement is false); use 0")
	}
	known := map[string]bool{}
	for _, f := range table {
		known[f.name] = true
		v, ok := c.Settings[f.name]
		if !ok {
			continue
		}
		if err := checkSetting(f, v); err != nil {
			return err
		}
	}
	for name := range c.Settings {
		if !known[name] {
			return fmt.Errorf("cert: %s is no setting of the %s family", name, c.Family)
		}
	}
	if c.Family == FamilyHTTPSBasic {
		for _, name := range []string{"Http3", "OcspStapling"} {
			if c.Settings[name] == On {
				return domain.Invalid(name, "on is not supported yet (esacert serves it off)")
			}
		}
		if c.Settings["CiphersuiteGroup"] == CiphersCustom && c.Settings["Ciphersuite"] == "" {
			return domain.Missing("Ciphersuite")
		}
	}
	return nil
}

// checkSetting checks the value of one setting.
func checkSetting(f setting, v string) error {
	switch f.kind {
	case kindSwitch:
		if v != On && v != Off {
			return domain.Invalid(f.name, "must be on or off")
		}
	case kindRedirect:
		if v != "301" && v != "302" && v != "307" && v != "308" {
			return domain.Invalid(f.name, "must be 301, 302, 307 or 308")
		}
	case kindSeconds:
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n > math.MaxInt32 {
			return domain.Invalid(f.name, "must be a decimal number of seconds between 0 and 2147483647")
		}
	case kindGroup:
		if v != CiphersAll && v != CiphersStrict && v != CiphersCustom {
			return domain.Invalid(f.name, "must be all, strict or custom")
		}
	case kindCiphers:
		if len(v) > MaxHTTPSText {
			return domain.Invalid(f.name, fmt.Sprintf("is at most %d bytes long", MaxHTTPSText))
		}
		known, _ := CipherSuiteNames(CiphersCustom)
		for _, name := range splitSuites(v) {
			if name == "" {
				return domain.Invalid(f.name, "names cipher suites separated by commas, without empty entries")
			}
			if !slices.Contains(known, name) {
				return domain.Invalid(f.name, fmt.Sprintf("%s is no cipher suite esacert offers (IANA names such as "+
					"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, separated by commas; ListCiphers with CiphersGroup=custom lists them)", name))
			}
		}
	case kindText:
		if len(v) > MaxHTTPSText {
			return domain.Invalid(f.name, fmt.Sprintf("is at most %d bytes long", MaxHTTPSText))
		}
	}
	return nil
}

// httpsStore returns the store of HTTPS configurations.
func (s *Service) httpsStore() (HTTPSStore, error) {
	if s.HTTPS == nil {
		return nil, errors.New("cert: the service has no HTTPS configuration store")
	}
	return s.HTTPS, nil
}

// configID draws a 15-digit configuration id, the shape ESA's have.
func (s *Service) configID() int64 { return domain.NumericID(s.Rand, 15) }

// createHTTPS validates c and stores it with a fresh ConfigID. c's type
// follows from its rule fields: none set makes it global.
func (s *Service) createHTTPS(ctx context.Context, c HTTPSConfig) (HTTPSConfig, error) {
	store, err := s.httpsStore()
	if err != nil {
		return HTTPSConfig{}, err
	}
	st, err := s.siteFor(ctx, c.SiteID)
	if err != nil {
		return HTTPSConfig{}, err
	}
	c.ConfigType = ConfigGlobal
	if c.Rule != "" || c.RuleName != "" || c.RuleEnable != "" {
		c.ConfigType = ConfigRule
	}
	if err := validateHTTPS(c, st); err != nil {
		return HTTPSConfig{}, err
	}
	for attempt := 0; ; attempt++ {
		c.ConfigID = s.configID()
		err = store.CreateHTTPSConfig(ctx, c)
		if errors.Is(err, domain.ErrExists) && attempt < 5 {
			continue // an id clash: draw again
		}
		break
	}
	if errors.Is(err, site.ErrSiteNotFound) { // deleted meanwhile
		return HTTPSConfig{}, &domain.ParamError{Param: "SiteId", Err: site.ErrSiteNotFound}
	}
	if err != nil {
		return HTTPSConfig{}, err
	}
	return c, nil
}

// checkConfigID checks a ConfigId parameter and the site it names.
func (s *Service) checkConfigID(ctx context.Context, siteID, id int64) (HTTPSStore, site.Site, error) {
	store, err := s.httpsStore()
	if err != nil {
		return nil, site.Site{}, err
	}
	st, err := s.siteFor(ctx, siteID)
	if err != nil {
		return nil, site.Site{}, err
	}
	if id <= 0 {
		return nil, site.Site{}, domain.Invalid("ConfigId", "must be a positive integer")
	}
	return store, st, nil
}

func (s *Service) getHTTPS(ctx context.Context, family string, siteID, id int64) (HTTPSConfig, error) {
	store, _, err := s.checkConfigID(ctx, siteID, id)
	if err != nil {
		return HTTPSConfig{}, err
	}
	return store.HTTPSConfig(ctx, family, siteID, id)
}

func (s *Service) listHTTPS(ctx context.Context, f HTTPSFilter) ([]HTTPSConfig, int, error) {
	store, err := s.httpsStore()
	if err != nil {
		return nil, 0, err
	}
	if _, err := s.siteFor(ctx, f.SiteID); err != nil {
		return nil, 0, err
	}
	if f.ConfigType != "" && f.ConfigType != ConfigGlobal && f.ConfigType != ConfigRule {
		return nil, 0, domain.Invalid("ConfigType", "must be global or rule")
	}
	if f.ConfigID < 0 {
		return nil, 0, domain.Invalid("ConfigId", "must be a positive integer")
	}
	return store.ListHTTPSConfigs(ctx, f)
}

// updateHTTPS changes, of the configuration change.ConfigID of
// change.SiteID, the fields fields names (parameter names) to their values
// in change; an empty value unsets a setting. The type of a configuration
// never changes.
func (s *Service) updateHTTPS(ctx context.Context, change HTTPSConfig, fields []string) (HTTPSConfig, error) {
	store, st, err := s.checkConfigID(ctx, change.SiteID, change.ConfigID)
	if err != nil {
		return HTTPSConfig{}, err
	}
	table := familySettings(change.Family)
	isSetting := map[string]bool{}
	for _, f := range table {
		isSetting[f.name] = true
	}
	for _, name := range fields {
		switch name {
		case "Rule", "RuleName", "RuleEnable", "Sequence":
		default:
			if !isSetting[name] {
				return HTTPSConfig{}, fmt.Errorf("cert: %s is no updatable field of the %s family", name, change.Family)
			}
		}
	}
	return store.UpdateHTTPSConfig(ctx, change.Family, st.ID, change.ConfigID, func(c *HTTPSConfig) error {
		if c.Settings == nil {
			c.Settings = map[string]string{}
		}
		for _, name := range fields {
			switch name {
			case "Rule":
				c.Rule = change.Rule
			case "RuleName":
				c.RuleName = change.RuleName
			case "RuleEnable":
				c.RuleEnable = change.RuleEnable
			case "Sequence":
				c.Sequence = change.Sequence
			default:
				if v := change.Settings[name]; v != "" {
					c.Settings[name] = v
				} else {
					delete(c.Settings, name)
				}
			}
		}
		return validateHTTPS(*c, st)
	})
}

func (s *Service) deleteHTTPS(ctx context.Context, family string, siteID, id int64) error {
	store, _, err := s.checkConfigID(ctx, siteID, id)
	if err != nil {
		return err
	}
	return store.DeleteHTTPSConfig(ctx, family, siteID, id)
}

// CreateHTTPSBasic creates an HTTPS basic configuration on b.SiteID and
// returns it with its ConfigID and ConfigType. Without Rule, RuleName and
// RuleEnable it is the site's global configuration (a second one is
// ErrGlobalConfigExists); else it is a rule configuration, which needs Rule.
// A missing site is a ParamError naming SiteId.
func (s *Service) CreateHTTPSBasic(ctx context.Context, b HTTPSBasic) (HTTPSBasic, error) {
	c, err := s.createHTTPS(ctx, b.Config())
	return c.Basic(), err
}

// HTTPSBasic returns an HTTPS basic configuration of a site, or ErrConfigNotFound.
func (s *Service) HTTPSBasic(ctx context.Context, siteID, configID int64) (HTTPSBasic, error) {
	c, err := s.getHTTPS(ctx, FamilyHTTPSBasic, siteID, configID)
	return c.Basic(), err
}

// ListHTTPSBasic returns one page of a site's HTTPS basic configurations
// that match f, and how many match in all.
func (s *Service) ListHTTPSBasic(ctx context.Context, f HTTPSFilter) ([]HTTPSBasic, int, error) {
	f.Family = FamilyHTTPSBasic
	list, total, err := s.listHTTPS(ctx, f)
	out := make([]HTTPSBasic, 0, len(list))
	for _, c := range list {
		out = append(out, c.Basic())
	}
	return out, total, err
}

// UpdateHTTPSBasic changes the configuration b.ConfigID of b.SiteID: each
// field that fields names (by parameter name: Https, Tls13, Rule, Sequence
// …) takes its value in b, and an empty value unsets a setting. Other
// fields keep their values. It returns the configuration as stored.
func (s *Service) UpdateHTTPSBasic(ctx context.Context, b HTTPSBasic, fields []string) (HTTPSBasic, error) {
	c, err := s.updateHTTPS(ctx, b.Config(), fields)
	return c.Basic(), err
}

// DeleteHTTPSBasic removes an HTTPS basic configuration of a site.
func (s *Service) DeleteHTTPSBasic(ctx context.Context, siteID, configID int64) error {
	return s.deleteHTTPS(ctx, FamilyHTTPSBasic, siteID, configID)
}

// CreateHTTPSApplication creates an HTTPS application configuration, as
// CreateHTTPSBasic does a basic one.
func (s *Service) CreateHTTPSApplication(ctx context.Context, a HTTPSApplication) (HTTPSApplication, error) {
	c, err := s.createHTTPS(ctx, a.Config())
	return c.Application(), err
}

// HTTPSApplication returns an HTTPS application configuration of a site,
// or ErrConfigNotFound.
func (s *Service) HTTPSApplication(ctx context.Context, siteID, configID int64) (HTTPSApplication, error) {
	c, err := s.getHTTPS(ctx, FamilyHTTPSApplication, siteID, configID)
	return c.Application(), err
}

// ListHTTPSApplication returns one page of a site's HTTPS application
// configurations that match f, and how many match in all.
func (s *Service) ListHTTPSApplication(ctx context.Context, f HTTPSFilter) ([]HTTPSApplication, int, error) {
	f.Family = FamilyHTTPSApplication
	list, total, err := s.listHTTPS(ctx, f)
	out := make([]HTTPSApplication, 0, len(list))
	for _, c := range list {
		out = append(out, c.Application())
	}
	return out, total, err
}

// UpdateHTTPSApplication changes an HTTPS application configuration, as
// UpdateHTTPSBasic does a basic one. SiteVersion cannot change.
func (s *Service) UpdateHTTPSApplication(ctx context.Context, a HTTPSApplication, fields []string) (HTTPSApplication, error) {
	c, err := s.updateHTTPS(ctx, a.Config(), fields)
	return c.Application(), err
}

// DeleteHTTPSApplication removes an HTTPS application configuration of a site.
func (s *Service) DeleteHTTPSApplication(ctx context.Context, siteID, configID int64) error {
	return s.deleteHTTPS(ctx, FamilyHTTPSApplication, siteID, configID)
}
