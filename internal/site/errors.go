package site

import "errors"

// Sentinel errors of sites and plan instances. Callers match them with
// errors.Is; the API layer maps each to a Code and an HTTP status in its one
// error table.
var (
	// ErrSiteNotFound: no site with that id. Site actions answer it as a missing
	// resource; the actions on what a site holds (certificates, records, HTTPS
	// configurations) wrap it in a ParamError naming SiteId (see Lookup).
	ErrSiteNotFound = errors.New("site not found")
	// ErrSiteExists: a site with that name exists already.
	ErrSiteExists = errors.New("site name already exists")
	// ErrInstanceNotFound: no plan instance with that id.
	ErrInstanceNotFound = errors.New("plan instance not found")
	// ErrSiteQuota: the plan instance holds as many sites as its plan allows.
	ErrSiteQuota = errors.New("plan instance has no site quota left")
	// ErrInstanceInUse: the plan instance still has sites, so it cannot be
	// refunded. The error's text names them after the sentinel's, and is
	// public (the names are the caller's own).
	ErrInstanceInUse = errors.New("plan instance still has sites")
)
