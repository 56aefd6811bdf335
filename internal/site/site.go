package site

import (
	"net/netip"
	"strings"
	"time"

	"github.com/esacert/esacert/internal/domain"
)

// Site statuses, as ESA names them.
const (
	SiteActive  = "active"
	SitePending = "pending"
	SiteOffline = "offline"
	SiteMoved   = "moved"
)

// Served reports whether a site in that status is served (at the edge, and
// for free certificates): an active one always, a pending one unless
// ownership must be proven first, an offline or moved one never.
func Served(status string, requireVerified bool) bool {
	return status == SiteActive || status == SitePending && !requireVerified
}

// Served reports whether the site is served; see the function Served.
func (s Site) Served(requireVerified bool) bool { return Served(s.Status, requireVerified) }

// Access types and coverages a site may have.
var (
	AccessTypes  = []string{"NS", "CNAME"}
	Coverages    = []string{"domestic", "global", "overseas"}
	SiteStatuses = []string{SitePending, SiteActive, SiteOffline, SiteMoved}
)

// Site is a registrable domain whose host names esacert serves. Sites are
// values: the store hands out copies, and nothing shares them.
type Site struct {
	ID              int64
	Name            string // lowercase, no trailing dot; unique across the service
	AccessType      string // NS or CNAME
	Coverage        string // domestic, global or overseas
	Status          string // pending, active, offline or moved
	InstanceID      string // the plan instance the site is attached to
	ResourceGroupID string
	VerifyCode      string
	Created         time.Time
	Updated         time.Time

	// Plan is the attached instance's plan, filled in by the store on reads;
	// it is not stored with the site.
	Plan Plan
}

// PublicSuffixFunc returns the public suffix of a domain, as
// golang.org/x/net/publicsuffix.PublicSuffix does.
type PublicSuffixFunc func(domain string) (suffix string, icann bool)

// CanonicalSiteName lowercases name, drops one trailing dot and checks that the
// result is a DNS name of at least two labels. With ps set it also requires a
// registrable domain: one label above a public suffix ("example.com" and
// "example.co.uk" are fine; "com", "co.uk" and "shop.example.com" are not),
// so that no site can sit inside another. It returns a ParamError naming
// param when the name is not acceptable.
func CanonicalSiteName(param, name string, ps PublicSuffixFunc) (string, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "" {
		return "", domain.Missing(param)
	}
	n = strings.TrimSuffix(n, ".")
	if err := CheckHostname(n); err != "" {
		return "", domain.Invalid(param, err)
	}
	if !strings.Contains(n, ".") {
		return "", domain.Invalid(param, "a site name needs at least two labels, such as example.com")
	}
	if ps != nil {
		suffix, _ := ps(n)
		if suffix == n {
			return "", domain.Invalid(param, "a site name cannot be a public suffix such as com or co.uk")
		}
		if rest := strings.TrimSuffix(n, "."+suffix); strings.Contains(rest, ".") {
			return "", domain.Invalid(param, "a site is a registrable domain such as example.com; "+
				"names under it (like www.example.com) are served through the site's records")
		}
	}
	return n, nil
}

// CheckHostname returns why n is not a valid lowercase DNS host name, or "":
// the rule of every name esacert takes (site names, record targets, hosts of
// HTTPS rules, the domains of free certificates).
func CheckHostname(n string) string {
	if len(n) > 253 {
		return "a domain name is at most 253 characters long"
	}
	if _, err := netip.ParseAddr(n); err == nil {
		return "an IP address is not a domain name"
	}
	for _, label := range strings.Split(n, ".") {
		if label == "" {
			return "a domain name cannot have an empty label"
		}
		if len(label) > 63 {
			return "a domain name label is at most 63 characters long"
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "a domain name label cannot start or end with a hyphen"
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "a domain name may hold only letters, digits, hyphens and dots (use punycode for international names)"
			}
		}
	}
	last := n[strings.LastIndexByte(n, '.')+1:]
	if strings.Trim(last, "0123456789") == "" {
		return "the top-level label of a domain name cannot be numeric"
	}
	return ""
}
