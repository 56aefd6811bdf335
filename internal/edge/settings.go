package edge

import (
	"crypto/tls"
	"strconv"
	"strings"
	"time"

	"github.com/esacert/esacert/internal/httpsconf"
)

// sitePolicies resolves every site's HTTPS settings (httpsconf) per host:
// one policy for each host a rule names, and a default for all others.
func sitePolicies(configs []httpsconf.HTTPSConfig) map[int64]SitePolicy {
	basics := map[int64][]httpsconf.HTTPSBasic{}
	apps := map[int64][]httpsconf.HTTPSApplication{}
	origins := map[int64][]httpsconf.OriginRule{}
	for _, c := range configs {
		switch c.Family {
		case httpsconf.FamilyHTTPSBasic:
			basics[c.SiteID] = append(basics[c.SiteID], c.Basic())
		case httpsconf.FamilyHTTPSApplication:
			apps[c.SiteID] = append(apps[c.SiteID], c.Application())
		case httpsconf.FamilyOrigin:
			origins[c.SiteID] = append(origins[c.SiteID], c.Origin())
		}
	}
	out := map[int64]SitePolicy{}
	sites := map[int64]bool{}
	for id := range basics {
		sites[id] = true
	}
	for id := range apps {
		sites[id] = true
	}
	for id := range origins {
		sites[id] = true
	}
	for id := range sites {
		b, a, o := basics[id], apps[id], origins[id]
		p := SitePolicy{Default: hostPolicy(httpsconf.EffectiveHTTPS(b, a, ""))}
		p.Default.Origin = originPolicy(httpsconf.EffectiveOrigin(o, ""))
		for _, host := range ruleHosts(b, a, o) {
			if p.Hosts == nil {
				p.Hosts = map[string]HostPolicy{}
			}
			hp := hostPolicy(httpsconf.EffectiveHTTPS(b, a, host))
			hp.Origin = originPolicy(httpsconf.EffectiveOrigin(o, host))
			p.Hosts[host] = hp
		}
		out[id] = p
	}
	return out
}

// ruleHosts lists the hosts that the rules of a site name.
func ruleHosts(basics []httpsconf.HTTPSBasic, apps []httpsconf.HTTPSApplication, origins []httpsconf.OriginRule) []string {
	var hosts []string
	add := func(rule string) {
		if rule == "" {
			return
		}
		if m, err := httpsconf.ParseRule(rule); err == nil {
			hosts = append(hosts, m.Hosts...)
		}
	}
	for _, b := range basics {
		add(b.Rule)
	}
	for _, a := range apps {
		add(a.Rule)
	}
	for _, o := range origins {
		add(o.Rule)
	}
	return hosts
}

// hostPolicy turns effective settings into what the edge enforces. TLS
// versions are a range from the lowest enabled to the highest enabled,
// with the ones off inside it (versions.go); with none enabled HTTPS is
// off.
func hostPolicy(b httpsconf.HTTPSBasic, a httpsconf.HTTPSApplication) HostPolicy {
	p := HostPolicy{HTTPS: b.Https != "off", HTTP2: b.Http2 != "off", ForceCode: 301}
	var off uint8 // every version off; those inside the range are kept
	for _, v := range []struct {
		on  string
		ver uint16
	}{{b.Tls10, tls.VersionTLS10}, {b.Tls11, tls.VersionTLS11}, {b.Tls12, tls.VersionTLS12}, {b.Tls13, tls.VersionTLS13}} {
		if v.on != "on" {
			off |= versionBit(v.ver)
			continue
		}
		if p.MinVersion == 0 {
			p.MinVersion = v.ver
		}
		p.MaxVersion = v.ver
	}
	if p.MinVersion == 0 {
		p.HTTPS = false
	} else {
		// the bits from MinVersion's to MaxVersion's
		p.VersionsOff = off & (versionBit(p.MaxVersion)<<1 - versionBit(p.MinVersion))
	}
	if b.CiphersuiteGroup != "" && b.CiphersuiteGroup != "all" {
		p.CipherSuites = b.CipherSuiteIDs()
	}
	p.OCSP = b.OcspStapling == "on"
	p.HTTP3 = b.Http3 == "on"
	p.AltSvc = altSvcPolicy(a)
	p.Force = a.HttpsForce == "on"
	p.NoSNIDeny = a.HttpsNoSniDeny == "on"
	if a.HttpsSniVerify == "on" {
		p.SNIAllow = sniWhitelist(a.HttpsSniWhitelist)
	}
	if code, err := strconv.Atoi(a.HttpsForceCode); err == nil {
		p.ForceCode = code
	}
	if a.Hsts == "on" {
		age := a.HstsMaxAge
		if age == "" {
			age = "31536000"
		}
		parts := []string{"max-age=" + age}
		if a.HstsIncludeSubdomains == "on" {
			parts = append(parts, "includeSubDomains")
		}
		if a.HstsPreload == "on" {
			parts = append(parts, "preload")
		}
		p.HSTS = strings.Join(parts, "; ")
	}
	return p
}

// sitePolicy is one site's policy from a loaded state; sites without
// settings get the defaults.
func sitePolicy(policies map[int64]SitePolicy, siteID int64) SitePolicy {
	if p, ok := policies[siteID]; ok {
		return p
	}
	return DefaultSitePolicy()
}

// originPolicy turns effective origin settings into what the proxy does.
func originPolicy(o httpsconf.OriginRule) OriginPolicy {
	p := OriginPolicy{Scheme: o.OriginScheme, Host: o.OriginHost, SNI: o.OriginSni, Verify: o.OriginVerify == "on",
		Mtls: o.OriginMtls == "on"}
	p.HTTPPort, _ = strconv.Atoi(o.OriginHttpPort)
	p.HTTPSPort, _ = strconv.Atoi(o.OriginHttpsPort)
	if n, err := strconv.Atoi(o.OriginReadTimeout); err == nil && n > 0 {
		p.ReadTimeout = time.Duration(n) * time.Second
	}
	return p
}
