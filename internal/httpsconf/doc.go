// Package httpsconf owns the HTTPS settings of a site, in ESA's two families
// of configurations: basic (TLS versions, cipher suites, HTTP/2 and the
// switches of the handshake) and application (forced HTTPS, HSTS, Alt-Svc,
// SNI checks). Each family has a global configuration per site and rule
// configurations whose rule expression selects hosts. Origin rules (how
// the edge reaches a site's origin: scheme, ports, Host, SNI,
// verification) are a third family kept and ordered the same way;
// origin.go holds them and EffectiveOrigin.
//
// config.go holds the types and the settings of each family, rule.go the
// rule expressions esacert understands, ciphers.go the cipher suite groups,
// check.go what a configuration must pass, effective.go how a host's
// settings follow from a site's configurations (EffectiveHTTPS, which the
// node turns into the edge's policies), service.go the use cases (Service)
// and store.go the Store they need.
//
// A configuration belongs to a site: the package imports site for Site,
// ErrSiteNotFound, Lookup (the SiteId of a request) and CheckHostname (the
// hosts of rules), and domain for what every noun shares. It imports no
// other noun, and never net/http, database/sql or a driver (crypto/tls only
// for the names and ids of cipher suites).
package httpsconf
