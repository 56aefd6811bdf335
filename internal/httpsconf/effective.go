package httpsconf

import (
	"sort"
	"strings"
)

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
