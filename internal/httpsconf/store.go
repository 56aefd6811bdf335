package httpsconf

import (
	"context"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/site"
)

// SiteStore is what the HTTPS configuration use cases need of sites: the
// site a request names.
type SiteStore interface {
	Site(ctx context.Context, id int64) (site.Site, error)
}

// Store is what the HTTPS configuration use cases need from storage.
// Methods are safe for concurrent use and return domain sentinels.
type Store interface {
	// CreateHTTPSConfig inserts c. In one transaction it checks that the
	// site exists (else ErrSiteNotFound) and, for a global c, that the site
	// has no global configuration of c.Family (else ErrGlobalConfigExists).
	// A clash on c.ConfigID is ErrExists, so the caller can draw another id.
	CreateHTTPSConfig(ctx context.Context, c HTTPSConfig) error
	// HTTPSConfig returns a configuration of a family of a site, or ErrConfigNotFound.
	HTTPSConfig(ctx context.Context, family string, siteID, id int64) (HTTPSConfig, error)
	// ListHTTPSConfigs returns one page of the configurations that match f,
	// the global one first, then by Sequence and ConfigID, and how many
	// match in all.
	ListHTTPSConfigs(ctx context.Context, f HTTPSFilter) ([]HTTPSConfig, int, error)
	// UpdateHTTPSConfig calls update with the configuration, locked for the
	// rest of one transaction, and stores what update leaves unless it
	// returns an error, which is returned as is. Only Rule, RuleName,
	// RuleEnable, Sequence and Settings change. A missing configuration is
	// ErrConfigNotFound. It returns the stored configuration.
	UpdateHTTPSConfig(ctx context.Context, family string, siteID, id int64, update func(*HTTPSConfig) error) (HTTPSConfig, error)
	// DeleteHTTPSConfig removes a configuration, or returns ErrConfigNotFound.
	DeleteHTTPSConfig(ctx context.Context, family string, siteID, id int64) error
}

// HTTPSFilter selects configurations of one family of one site.
type HTTPSFilter struct {
	Family      string // set by the service
	SiteID      int64
	ConfigID    int64  // 0 selects any
	ConfigType  string // "" selects both
	RuleName    string // "" selects any; else the exact name
	SiteVersion int    // esacert keeps version 0 only, so another value selects nothing
	Page        domain.Page
}
