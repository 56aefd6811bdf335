// Package domain is the small vocabulary every noun of esacert's domain
// shares: the parameter errors (ParamError, Missing, Invalid, CheckName,
// CheckLength, and the causes ErrTooLong, ErrBadChars, ErrBadFormat that
// RAM names in its Codes) and the generic sentinels (ErrMissing,
// ErrInvalid, ErrNotFound, ErrExists, ErrConflict, ErrKeyUnavailable),
// paging and name matching of lists (Page, Paging, Match*; Marker and
// MarkerPaging for RAM's lists), tags of resources (Tag, CheckTags), the
// Sealer that seals secrets at rest, and the clock and random ids the use
// cases draw (Now, NumericID, HexID).
//
// "Domain" is meant as in domain model, not DNS domain: the nouns
// themselves live in their own packages (site, record, httpsconf, cert,
// and for access control account, user, group, accesskey, rampolicy, role,
// session and identity),
// each with its own Service, storage interface and sentinel errors, and
// import this package for what they share.
//
// It uses the standard library only and imports no package of esacert: it
// is the bottom of the domain, and nothing it holds may know about sites,
// records, HTTPS settings or certificates.
package domain
