package httpsconf

import (
	"context"
	"strings"

	"github.com/esacert/esacert/internal/domain"
)

// FamilyOrigin is the family of origin rules (CreateOriginRule and its
// siblings): how the edge reaches a site's origin for the hosts a rule
// matches. Origin rules share the storage, the rule expressions and the
// ordering of the HTTPS configuration families.
const FamilyOrigin = "origin"

// Origin schemes (OriginScheme).
const (
	SchemeHTTP   = "http"
	SchemeHTTPS  = "https"
	SchemeFollow = "follow" // the visitor's scheme
)

// OriginRule is an origin rule of a site: how the edge connects to the
// origin for the hosts its rule matches (all hosts for a global rule).
// Settings are strings holding exactly what the client set, "" meaning
// unset, as in HTTPSBasic; the numbers among them are decimal strings, as
// ESA has them.
type OriginRule struct {
	ConfigID    int64
	SiteID      int64
	ConfigType  string // ConfigGlobal or ConfigRule; set by the service
	Rule        string
	RuleName    string
	RuleEnable  string
	Sequence    int
	SiteVersion int // always 0: esacert sites have no configuration versions

	OriginScheme          string // http, https or follow
	OriginHttpPort        string // 1–65535: the origin's port for plain HTTP
	OriginHttpsPort       string // 1–65535: the origin's port for HTTPS
	OriginHost            string // the Host header sent to the origin
	OriginSni             string // the server name sent to an HTTPS origin, and the name verified
	OriginVerify          string // on or off: verify an HTTPS origin's certificate
	OriginMtls            string // on or off: present the site's origin client certificate to an HTTPS origin
	OriginReadTimeout     string // seconds to wait for the origin's answer
	DnsRecord             string // not supported yet (must stay unset)
	Range                 string // off (on and force are not supported yet)
	RangeChunkSize        string // not supported yet (must stay unset)
	Follow302Enable       string // off (on is not supported yet)
	Follow302MaxTries     string // stored; used once Follow302Enable is supported
	Follow302RetainArgs   string // on or off; stored
	Follow302RetainHeader string // on or off; stored
	Follow302TargetHost   string // stored
}

func (o *OriginRule) settings() []setting {
	return []setting{
		{"OriginScheme", kindScheme, &o.OriginScheme},
		{"OriginHttpPort", kindPort, &o.OriginHttpPort},
		{"OriginHttpsPort", kindPort, &o.OriginHttpsPort},
		{"OriginHost", kindHost, &o.OriginHost},
		{"OriginSni", kindHost, &o.OriginSni},
		{"OriginVerify", kindSwitch, &o.OriginVerify},
		{"OriginMtls", kindSwitch, &o.OriginMtls},
		{"OriginReadTimeout", kindSeconds, &o.OriginReadTimeout},
		{"DnsRecord", kindText, &o.DnsRecord},
		{"Range", kindText, &o.Range},
		{"RangeChunkSize", kindText, &o.RangeChunkSize},
		{"Follow302Enable", kindSwitch, &o.Follow302Enable},
		{"Follow302MaxTries", kindSeconds, &o.Follow302MaxTries},
		{"Follow302RetainArgs", kindSwitch, &o.Follow302RetainArgs},
		{"Follow302RetainHeader", kindSwitch, &o.Follow302RetainHeader},
		{"Follow302TargetHost", kindHost, &o.Follow302TargetHost},
	}
}

// Config returns o as the store keeps it.
func (o OriginRule) Config() HTTPSConfig {
	return HTTPSConfig{Family: FamilyOrigin, ConfigID: o.ConfigID, SiteID: o.SiteID, ConfigType: o.ConfigType,
		Rule: o.Rule, RuleName: o.RuleName, RuleEnable: o.RuleEnable, Sequence: o.Sequence, SiteVersion: o.SiteVersion,
		Settings: settingsMap(o.settings())}
}

// Origin returns c as an OriginRule; settings of other families are dropped.
func (c HTTPSConfig) Origin() OriginRule {
	o := OriginRule{ConfigID: c.ConfigID, SiteID: c.SiteID, ConfigType: c.ConfigType, Rule: c.Rule,
		RuleName: c.RuleName, RuleEnable: c.RuleEnable, Sequence: c.Sequence, SiteVersion: c.SiteVersion}
	fillSettings(o.settings(), c.Settings)
	return o
}

// unsupportedOrigin lists the origin rule settings esacert cannot honour
// yet and the only values it accepts for them ("" meaning unset).
var unsupportedOrigin = []struct{ name, accept, why string }{
	{"DnsRecord", "", "is not supported yet (esacert reaches the origin the site's DNS records name)"},
	{"Range", Off, "only off is supported (esacert passes a visitor's Range header through)"},
	{"RangeChunkSize", "", "is not supported yet (esacert does not fetch ranges in chunks)"},
	{"Follow302Enable", Off, "on is not supported yet (esacert passes the origin's redirects to the visitor)"},
}

// checkOrigin checks what validateHTTPS's table cannot: the settings
// esacert does not support yet.
func checkOrigin(c HTTPSConfig) error {
	for _, u := range unsupportedOrigin {
		if v, ok := c.Settings[u.name]; ok && v != u.accept {
			return domain.Invalid(u.name, u.why)
		}
	}
	return nil
}

// CreateOriginRule creates an origin rule on o.SiteID and returns it with
// its ConfigID and ConfigType, as CreateHTTPSBasic does.
func (s *Service) CreateOriginRule(ctx context.Context, o OriginRule) (OriginRule, error) {
	c, err := s.createHTTPS(ctx, o.Config())
	return c.Origin(), err
}

// OriginRule returns an origin rule of a site, or ErrConfigNotFound.
func (s *Service) OriginRule(ctx context.Context, siteID, configID int64) (OriginRule, error) {
	c, err := s.getHTTPS(ctx, FamilyOrigin, siteID, configID)
	return c.Origin(), err
}

// ListOriginRules returns one page of a site's origin rules that match f,
// and how many match in all.
func (s *Service) ListOriginRules(ctx context.Context, f HTTPSFilter) ([]OriginRule, int, error) {
	f.Family = FamilyOrigin
	list, total, err := s.listHTTPS(ctx, f)
	out := make([]OriginRule, 0, len(list))
	for _, c := range list {
		out = append(out, c.Origin())
	}
	return out, total, err
}

// UpdateOriginRule changes an origin rule, as UpdateHTTPSBasic does a
// basic configuration. SiteVersion cannot change.
func (s *Service) UpdateOriginRule(ctx context.Context, o OriginRule, fields []string) (OriginRule, error) {
	c, err := s.updateHTTPS(ctx, o.Config(), fields)
	return c.Origin(), err
}

// DeleteOriginRule removes an origin rule of a site.
func (s *Service) DeleteOriginRule(ctx context.Context, siteID, configID int64) error {
	return s.deleteHTTPS(ctx, FamilyOrigin, siteID, configID)
}

// EffectiveOrigin resolves the origin settings of one host of a site from
// the site's origin rules as EffectiveHTTPS does the HTTPS settings: the
// global rule, then the enabled rules whose Rule matches host in Sequence
// order, each overriding only the settings it sets. Unset settings stay
// "" (plain HTTP to the record's port, the visitor's Host, no
// verification).
func EffectiveOrigin(rules []OriginRule, host string) OriginRule {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	var o OriginRule
	for _, c := range applicable(rules, OriginRule.Config, host) {
		overlay(o.settings(), c.Settings)
	}
	return o
}
