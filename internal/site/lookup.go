package site

import (
	"context"
	"errors"

	"github.com/esacert/esacert/internal/domain"
)

// Lookup returns the site that an action on something a site holds (a
// certificate, a record, an HTTPS configuration) names, from sites (a
// Store, or any view of one that finds sites by id): a SiteId that is not
// positive is a ParamError naming SiteId with domain.ErrInvalid, and a site
// that does not exist one with ErrSiteNotFound, as those actions answer it.
// Other errors of sites are returned as they are.
func Lookup(ctx context.Context, sites interface {
	Site(ctx context.Context, id int64) (Site, error)
}, siteID int64) (Site, error) {
	if siteID <= 0 {
		return Site{}, domain.Invalid("SiteId", "must be a positive integer")
	}
	s, err := sites.Site(ctx, siteID)
	return s, AsParam(err)
}

// AsParam reports a site found missing (ErrSiteNotFound) as a fault of the
// request's SiteId, as Lookup does, for a write that finds its site deleted
// after Lookup found it; any other error is returned as it is.
func AsParam(err error) error {
	if errors.Is(err, ErrSiteNotFound) {
		return &domain.ParamError{Param: "SiteId", Err: ErrSiteNotFound}
	}
	return err
}
