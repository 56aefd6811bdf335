package sitesetting

import (
	"maps"
	"strings"

	"github.com/esacert/esacert/internal/domain"
)

// IPv6 regions, as UpdateIPv6's Region names them.
const (
	RegionGlobal   = "x.x"   // every client (ESA's default)
	RegionMainland = "cn.cn" // clients in the Chinese mainland
)

// DefaultRealClientIPHeader is the header ESA adds for the client's address
// when AddRealClientIpHeader is on and no RealClientIpHeaderName is set.
const DefaultRealClientIPHeader = "ali-real-client-ip"

// Switch values of the on/off settings.
const (
	On  = "on"
	Off = "off"
)

// Config is a site's feature settings as the API keeps them: what the
// Get… actions answer and the Update… actions change. Edge derives what
// the edge needs of it. Configs are values: Features is never modified in
// place (SetFeature copies it).
type Config struct {
	// Paused: UpdateSitePause.
	Paused bool
	// IPv6 is on when the edge serves the site to IPv6 clients; IPv6Region
	// is RegionGlobal or RegionMainland (stored and answered; the edge
	// does not tell regions apart).
	IPv6       bool
	IPv6Region string
	// RealClientIPHeader: the edge adds a header with the client's address
	// to the requests it proxies to the origin, named
	// RealClientIPHeaderName, or DefaultRealClientIPHeader when that is "".
	RealClientIPHeader     bool
	RealClientIPHeaderName string
	// RealClientIPHeaderSet is true once AddRealClientIpHeader was set, to
	// on or off as RealClientIPHeader says; until then it reads "" (never
	// set, which is off), as ESA answers it for a site where it never was.
	RealClientIPHeaderSet bool
	// Features are the values a user set for the parameters of the
	// features esacert has no behaviour for (each its off value, see
	// Fixed), by FeatureKey: their Get… answers them back, and "" for a
	// parameter not in it (never set). Nil when none is set.
	Features map[string]string
}

// FeatureKey is the key of Config.Features that keeps the value the
// parameter param of the Update action action was set to:
// "UpdateDevelopmentMode.Enable".
func FeatureKey(action, param string) string { return action + "." + param }

// geolocationKey keeps UpdateManagedTransform's AddClientGeolocationHeader.
var geolocationKey = FeatureKey("UpdateManagedTransform", "AddClientGeolocationHeader")

// Feature returns the value key was set to, "" when it never was.
func (c Config) Feature(key string) string { return c.Features[key] }

// SetFeature sets key to v, or forgets it (never set) when v is "". It
// copies Features first, so Configs that share the map are not changed.
func (c *Config) SetFeature(key, v string) {
	if c.Features[key] == v {
		return
	}
	m := maps.Clone(c.Features)
	if v == "" {
		delete(m, key)
	} else {
		if m == nil {
			m = map[string]string{}
		}
		m[key] = v
	}
	if len(m) == 0 {
		m = nil
	}
	c.Features = m
}

// AddRealClientIPHeader is what GetManagedTransform answers for
// AddRealClientIpHeader: on or off as set, "" when never set.
func (c Config) AddRealClientIPHeader() string {
	switch {
	case !c.RealClientIPHeaderSet:
		return ""
	case c.RealClientIPHeader:
		return On
	}
	return Off
}

// AddClientGeolocationHeader is what GetManagedTransform answers for
// AddClientGeolocationHeader: off once set so, "" when never set.
func (c Config) AddClientGeolocationHeader() string { return c.Feature(geolocationKey) }

// NewSiteConfig is the Config of a site created now: not paused, no
// client-IP header, and IPv6 on for RegionGlobal. ESA's IPv6 switch is
// opt-in, but there "off" only means no AAAA answer, so clients quietly
// use IPv4; esacert answers no DNS, and where the operator publishes an
// AAAA record for the edge, "off" would fail IPv6 clients outright. So a
// new site takes IPv6 clients until UpdateIPv6 turns it off.
func NewSiteConfig() Config { return Config{IPv6: true, IPv6Region: RegionGlobal} }

// LegacyConfig is the Config of a site that has none stored: one created
// before esacert kept feature settings (or by a node that did not yet), which
// was served as it was then: IPv6 on, not paused, no header.
func LegacyConfig() Config { return Config{IPv6: true, IPv6Region: RegionGlobal} }

// Edge is what the edge needs of c.
func (c Config) Edge() Settings {
	s := Settings{Paused: c.Paused, IPv6Off: !c.IPv6}
	if c.RealClientIPHeader {
		s.RealClientIPHeader = c.HeaderName()
	}
	return s
}

// HeaderName is the header the edge adds when RealClientIPHeader is on.
func (c Config) HeaderName() string {
	if c.RealClientIPHeaderName != "" {
		return c.RealClientIPHeaderName
	}
	return DefaultRealClientIPHeader
}

// switchValue parses an on/off parameter ("" when absent is left to the caller).
func switchValue(param, v string) (bool, error) {
	switch v {
	case On:
		return true, nil
	case Off:
		return false, nil
	}
	return false, domain.Invalid(param, "must be on or off")
}

// maxHeaderName bounds RealClientIpHeaderName.
const maxHeaderName = 64

// reservedHeaders are the request headers the edge's proxy manages itself
// (hop-by-hop, framing, forwarding, loop detection): a client-IP header may
// not be one.
var reservedHeaders = map[string]bool{
	"host": true, "content-length": true, "transfer-encoding": true, "connection": true, "keep-alive": true,
	"upgrade": true, "te": true, "trailer": true, "proxy-connection": true, "proxy-authorization": true,
	"proxy-authenticate": true, "x-forwarded-for": true, "x-forwarded-host": true, "x-forwarded-proto": true,
	"forwarded": true, "cdn-loop": true, "via": true,
}

// ReservedHeader reports whether name (in any case) is a request header
// the edge's proxy manages itself, which a client-IP header may not be.
// The edge checks it again before it sets a client-IP header, as a name
// stored before it was reserved is not.
func ReservedHeader(name string) bool {
	return reservedHeaders[strings.ToLower(name)]
}

// CheckHeaderName checks a RealClientIpHeaderName as ESA documents it: a
// letter, then letters, digits and hyphens, at most 64 characters; and not
// a header the edge's proxy sets itself. It returns the name as given
// (header names are compared case-insensitively).
func CheckHeaderName(param, name string) (string, error) {
	if name == "" || len(name) > maxHeaderName {
		return "", domain.Invalid(param, "must be 1 to 64 characters")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if i == 0 && !letter {
			return "", domain.Invalid(param, "must start with a letter")
		}
		if !letter && !(c >= '0' && c <= '9') && c != '-' {
			return "", domain.Invalid(param, "may hold letters, digits and hyphens only")
		}
	}
	if ReservedHeader(name) {
		return "", domain.Invalid(param, "names a header the edge's proxy sets itself; choose another name")
	}
	return name, nil
}
