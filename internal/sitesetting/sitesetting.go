// Package sitesetting holds a site's feature settings: the ESA switches a
// site has besides its records, certificates and HTTPS settings (pausing,
// IPv6, managed transforms, and the many features esacert answers as off),
// and which of them a user set: one never set reads "", one set reads back
// as set.
package sitesetting

// Settings is what the edge needs of a site's feature settings. The zero
// value is a site that is not paused, takes IPv6 clients and adds no
// client-IP header.
type Settings struct {
	// Paused, as UpdateSitePause sets it: the edge steps out of the way of
	// the site's traffic (see the edge for what that means).
	Paused bool
	// IPv6Off, as UpdateIPv6 sets it (Enable=off): the edge does not serve
	// the site to clients that reach it over IPv6.
	IPv6Off bool
	// RealClientIPHeader, when not "", is the request header the edge sets
	// to the client's IP address on requests it proxies to the origin
	// (UpdateManagedTransform AddRealClientIpHeader=on).
	RealClientIPHeader string
}
