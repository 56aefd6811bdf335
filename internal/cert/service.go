package cert

import (
	"context"
	"io"
	"time"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/site"
)

// SiteStore is what the use cases of this package need of sites: the site
// a request names, and the plan instance with its sites (for quotas).
type SiteStore interface {
	Site(ctx context.Context, id int64) (site.Site, error)
	ListInstances(ctx context.Context, f site.InstanceFilter) ([]site.Instance, int, error)
}

// Service holds the use cases on certificates, the certificate repository
// and free certificates. Its fields are set once, before first use; after
// that a Service is safe for concurrent use.
type Service struct {
	Sites SiteStore // required
	// Certs and Repo store certificates and the certificate repository;
	// Sealer seals their private keys. All three are required for the
	// certificate use cases.
	Certs  CertStore
	Repo   RepoStore
	Sealer domain.Sealer
	// Frees stores free certificates, and Issuer obtains them; nil Issuer
	// disables ApplyCertificate.
	Frees      FreeStore
	Issuer     Issuer
	Challenges ChallengeStore // optional: shows validations in progress
	OCSP       OCSPReader     // optional: shows a certificate's OCSP state
	// Kick, when set, is signalled when new work for the renewer exists.
	Kick chan struct{}
	// Log, when set, receives failures of background work.
	Log func(msg, id string, err error)

	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Rand is the source of ids; nil means crypto/rand.
	Rand io.Reader
	// Limits are the limits of each plan tier; nil means site.DefaultLimits().
	Limits map[string]site.Limits
	// RequireVerified refuses free certificates to pending sites, as the
	// edge does not serve them (site.Served).
	RequireVerified bool
}

func (s *Service) now() time.Time { return domain.Now(s.Now) }

// siteID draws a 13-digit id, the shape of ESA's site and record ids.
func (s *Service) siteID() int64 { return domain.NumericID(s.Rand, 13) }

// hexID returns n random bytes in lowercase hex.
func (s *Service) hexID(n int) string { return domain.HexID(s.Rand, n) }

func (s *Service) limits(tier string) site.Limits { return site.TierLimits(s.Limits, tier) }

// siteFor returns the site an action names (see site.Lookup).
func (s *Service) siteFor(ctx context.Context, siteID int64) (site.Site, error) {
	return site.Lookup(ctx, s.Sites, siteID)
}

// Time is the service's current time: the clock every status is computed at.
func (s *Service) Time() time.Time { return s.now() }
