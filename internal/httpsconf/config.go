package httpsconf

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
	Http3            string // on or off: serve the host over HTTP/3 (QUIC) too
	Tls10            string // on or off
	Tls11            string // on or off
	Tls12            string // on or off
	Tls13            string // on or off
	CiphersuiteGroup string // all, strict or custom
	Ciphersuite      string // IANA suite names separated by commas; used when the group is custom
	OcspStapling     string // on or off: staple the certificate's OCSP response
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

// settingKind says which values a setting takes.
type settingKind int

const (
	kindSwitch      settingKind = iota // on or off
	kindRedirect                       // 301, 302, 307 or 308
	kindSeconds                        // a decimal number of seconds
	kindGroup                          // all, strict or custom
	kindCiphers                        // IANA cipher suite names separated by commas
	kindText                           // free text
	kindServerNames                    // host names, "*." ones too, separated by spaces or commas
	kindScheme                         // http, https or follow
	kindPort                           // a TCP port, 1–65535
	kindHost                           // a host name
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
		{"HttpsSniWhitelist", kindServerNames, &a.HttpsSniWhitelist},
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
	case FamilyOrigin:
		return (&OriginRule{}).settings()
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
