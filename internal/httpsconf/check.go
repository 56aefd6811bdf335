package httpsconf

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/site"
)

// validateHTTPS checks a configuration about to be stored on site.
func validateHTTPS(c HTTPSConfig, st site.Site) error {
	table := familySettings(c.Family)
	if table == nil {
		return fmt.Errorf("httpsconf: unknown HTTPS configuration family %q", c.Family)
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
		return fmt.Errorf("httpsconf: unknown configuration type %q", c.ConfigType)
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
			return fmt.Errorf("httpsconf: %s is no setting of the %s family", name, c.Family)
		}
	}
	if c.Family == FamilyOrigin {
		if err := checkOrigin(c); err != nil {
			return err
		}
	}
	if c.Family == FamilyHTTPSBasic {
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
		all13 := tls13Names()
		var tls13 []string // the TLS 1.3 suites named
		for _, name := range splitSuites(v) {
			if name == "" {
				return domain.Invalid(f.name, "names cipher suites separated by commas, without empty entries")
			}
			if !slices.Contains(known, name) {
				return domain.Invalid(f.name, fmt.Sprintf("%s is no cipher suite esacert offers (IANA names such as "+
					"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, separated by commas; ListCiphers with CiphersGroup=custom lists them)", name))
			}
			if slices.Contains(all13, name) && !slices.Contains(tls13, name) {
				tls13 = append(tls13, name)
			}
		}
		if len(tls13) > 0 && len(tls13) < len(all13) {
			return domain.Invalid(f.name, fmt.Sprintf("names %s but not every TLS 1.3 suite: esacert's TLS 1.3 "+
				"offers all of %s, which cannot be chosen one by one (Go's crypto/tls), so list all of them or none "+
				"(the list chooses the suites of TLS 1.2 and below)", strings.Join(tls13, ", "), strings.Join(all13, ", ")))
		}
	case kindScheme:
		if v != SchemeHTTP && v != SchemeHTTPS && v != SchemeFollow {
			return domain.Invalid(f.name, "must be http, https or follow")
		}
	case kindPort:
		n, err := strconv.ParseUint(v, 10, 16)
		if err != nil || n == 0 {
			return domain.Invalid(f.name, "must be a port number between 1 and 65535")
		}
	case kindHost:
		h := strings.TrimSuffix(v, ".")
		if h == "" {
			return domain.Invalid(f.name, "must be a host name")
		}
		if msg := site.CheckHostname(strings.ToLower(h)); msg != "" {
			return domain.Invalid(f.name, "must be a host name: "+msg)
		}
	case kindServerNames:
		if len(v) > MaxHTTPSText {
			return domain.Invalid(f.name, fmt.Sprintf("is at most %d bytes long", MaxHTTPSText))
		}
		for _, n := range ServerNames(v) {
			h := strings.ToLower(strings.TrimSuffix(n, "."))
			if rest, ok := strings.CutPrefix(h, "*."); ok {
				h = rest
			}
			// An underscore is no host name's, but some SNIs carry one
			// (and the edge matches them as they come): allowed here.
			if msg := site.CheckHostname(strings.ReplaceAll(h, "_", "x")); msg != "" {
				return domain.Invalid(f.name, fmt.Sprintf("lists server names separated by spaces (a name, or *. and a name): %q is not one: %s", n, msg))
			}
		}
	case kindText:
		if len(v) > MaxHTTPSText {
			return domain.Invalid(f.name, fmt.Sprintf("is at most %d bytes long", MaxHTTPSText))
		}
	}
	return nil
}

// ServerNames splits an HttpsSniWhitelist into its entries: separated by
// spaces (commas are taken as spaces too), as given.
func ServerNames(v string) []string {
	return strings.Fields(strings.ReplaceAll(v, ",", " "))
}
