package cert

import "errors"

// Sentinel errors of certificates and the certificate repository. Callers
// match them with errors.Is; the API layer maps each to a Code and an HTTP
// status in its one error table.
var (
	// ErrCertNotFound: no certificate with that id on that site.
	ErrCertNotFound = errors.New("certificate not found")
	// ErrCertNameExists: another certificate of the site has that name.
	ErrCertNameExists = errors.New("certificate name already exists on the site")
	// ErrCasDuplicate: the repository certificate is on the site already.
	ErrCasDuplicate = errors.New("repository certificate already on the site")
	// ErrCertQuota: one more certificate would pass the site plan's quota.
	ErrCertQuota = errors.New("certificate quota of the site plan reached")
	// ErrFreeNotUpdatable: SetCertificate named a free (ACME) certificate.
	ErrFreeNotUpdatable = errors.New("free certificates cannot be updated")
	// ErrBadState: the certificate is in a state that forbids the operation.
	ErrBadState = errors.New("certificate is in a state that forbids this")
	// ErrNameNotInSite: no name of the certificate is the site or under it.
	ErrNameNotInSite = errors.New("certificate names do not match the site")
	// ErrRepoCertNotFound: no repository certificate with that id (and region).
	ErrRepoCertNotFound = errors.New("repository certificate not found")
	// ErrRepoNameExists: another repository certificate has that name.
	ErrRepoNameExists = errors.New("repository certificate name already exists")
)

// Errors of free certificates.
var (
	// ErrSiteNotActive: the site is not active, so no CA could validate it.
	ErrSiteNotActive = errors.New("site is not active")
	// ErrFreeQuota: one more free certificate would pass the plan's limit.
	ErrFreeQuota = errors.New("free certificate quota of the site plan reached")
	// ErrIssuance: the CA refused (CAA, validation failed, rate limit, …).
	ErrIssuance = errors.New("the certificate authority refused to issue")
	// ErrUnavailable: the CA could not be reached.
	ErrUnavailable = errors.New("the certificate authority is unavailable")
)
