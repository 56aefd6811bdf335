package sitesetting

import (
	"context"

	"github.com/esacert/esacert/internal/domain"
)

// Store is what the feature-setting and site-tag use cases need from
// storage. Methods are safe for concurrent use and return domain
// sentinels: site.ErrSiteNotFound for a site that does not exist.
type Store interface {
	// SiteConfig returns the site's Config: LegacyConfig() for a site that
	// has none stored.
	SiteConfig(ctx context.Context, siteID int64) (Config, error)
	// UpdateSiteConfig calls update with the site's Config, locked for the
	// rest of one transaction, and stores what update leaves unless it
	// returns an error, which is returned as is. It records an edge change
	// of the site (the edge reloads it) when what the edge needs of the
	// Config (Edge) changed, and returns the stored Config.
	UpdateSiteConfig(ctx context.Context, siteID int64, update func(*Config) error) (Config, error)
	// SiteTags returns the tags of each of the sites that has any, in key
	// order; nil ids means every site.
	SiteTags(ctx context.Context, ids []int64) (map[int64][]domain.Tag, error)
	// FindSiteTags returns one page of the tags of every site that match
	// filter (a tag matches a filter tag of its key without a value or with
	// its value; an empty filter matches every tag), in site id then key
	// order, and how many match in all.
	FindSiteTags(ctx context.Context, filter []domain.Tag, page domain.Page) ([]SiteTag, int, error)
	// TagSites adds tags to each of the sites, overwriting the values of
	// keys they have, all in one transaction: nothing is kept when one of
	// the sites does not exist (site.ErrSiteNotFound) or would then have
	// more than max tags (domain.ErrTagLimit).
	TagSites(ctx context.Context, siteIDs []int64, tags []domain.Tag, max int) error
	// UntagSites removes the tags with those keys (all of them when all)
	// from each of the sites, all in one transaction: nothing is removed
	// when one of the sites does not exist (site.ErrSiteNotFound).
	UntagSites(ctx context.Context, siteIDs []int64, keys []string, all bool) error
}

// SiteTag is one tag of one site.
type SiteTag struct {
	SiteID int64
	domain.Tag
}
