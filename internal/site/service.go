package site

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/esacert/esacert/internal/domain"
)

// Service holds the use cases on sites and plan instances. Its fields are
// set once, before first use; after that a Service is safe for concurrent
// use.
type Service struct {
	Store Store // required

	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Rand is the source of ids and verification codes; nil means crypto/rand.
	Rand io.Reader
	// Log, when set, receives what the operator should hear of (VerifySite
	// getting no DNS answer from the operator's resolvers); nil logs nothing.
	Log func(msg, id string, err error)
	// DefaultPlan is the plan name of the instance that sites created without
	// an InstanceId are attached to; "" means "basic".
	DefaultPlan string
	// Limits are the limits of each plan tier; nil means DefaultLimits().
	Limits map[string]Limits
	// RequireVerified keeps pending sites off the edge, and off free
	// certificates, until their ownership is proven; without it a pending
	// site is served as an active one is (the single-operator default).
	RequireVerified bool
	// VerifyInterval is the wait after a pending site's first failed check
	// (RunVerifier); 0 means DefaultVerifyInterval.
	VerifyInterval time.Duration
	// NameServers are the name servers NS sites are told to delegate to;
	// VerifySite checks an NS site's delegation against them.
	NameServers []string
	// Resolver looks up the DNS records VerifySite checks; nil fails every
	// verification (a pending site stays pending).
	Resolver Resolver
	// PublicSuffix, when set, refuses site names that are public suffixes
	// (golang.org/x/net/publicsuffix.PublicSuffix fits); nil skips that check.
	PublicSuffix PublicSuffixFunc
}

func (s *Service) now() time.Time { return domain.Now(s.Now) }

func (s *Service) limits(tier string) Limits { return TierLimits(s.Limits, tier) }

// defaultPlan returns the plan of the default instance.
func (s *Service) defaultPlan() (Plan, error) {
	name := s.DefaultPlan
	if name == "" {
		name = "basic"
	}
	p, ok := LookupPlan(name)
	if !ok {
		return Plan{}, fmt.Errorf("site: unknown default plan %q", name)
	}
	return p, nil
}

// DefaultInstanceID returns the id of the instance that sites created without
// an InstanceId are attached to: one per default plan, so that changing the
// default plan leaves existing sites where they are.
func (s *Service) DefaultInstanceID() (string, error) {
	p, err := s.defaultPlan()
	if err != nil {
		return "", err
	}
	return "esa-default-" + strings.ReplaceAll(p.Name, "_", "-"), nil
}

// EnsureDefaultInstance creates the default plan instance if it does not
// exist yet. It is idempotent and safe to run on every start of every node.
func (s *Service) EnsureDefaultInstance(ctx context.Context) error {
	p, err := s.defaultPlan()
	if err != nil {
		return err
	}
	id, _ := s.DefaultInstanceID()
	now := s.now()
	in := Instance{
		ID:          id,
		OrderID:     "0",
		Plan:        p,
		Coverage:    strings.Join(Coverages, ","),
		BillingMode: "PREPAY",
		Status:      InstanceOnline,
		Created:     now,
		Default:     true,
	}
	if err := s.Store.CreateInstance(ctx, in, nil); err != nil && !errors.Is(err, domain.ErrExists) {
		return fmt.Errorf("create default plan instance: %w", err)
	}
	return nil
}

// CreateSiteInput is what CreateSite takes. Empty fields take their defaults.
type CreateSiteInput struct {
	Name            string // required
	AccessType      string // NS (default) or CNAME
	Coverage        string // domestic, global or overseas (default)
	InstanceID      string // default: the default instance
	ResourceGroupID string
}

// CreateSite validates in and creates the site. A new site is pending, as on
// ESA, until its ownership is proven (VerifySite, or the background checks
// of RunVerifier); whether the edge serves it meanwhile is RequireVerified's
// choice.
func (s *Service) CreateSite(ctx context.Context, in CreateSiteInput) (Site, error) {
	site, err := s.newSite(in)
	if err != nil {
		return Site{}, err
	}
	for attempt := 0; ; attempt++ {
		site.ID = s.siteID()
		err = s.Store.CreateSite(ctx, *site)
		if errors.Is(err, domain.ErrExists) && attempt < 5 {
			continue // an id clash: draw again
		}
		break
	}
	if errors.Is(err, ErrInstanceNotFound) && in.InstanceID != "" {
		return Site{}, &domain.ParamError{Param: "InstanceId", Err: ErrInstanceNotFound}
	}
	if err != nil {
		return Site{}, err
	}
	return s.Store.Site(ctx, site.ID)
}

// MaxResourceGroupID bounds a resource group id (of a site or a repository
// certificate), which esacert only stores.
const MaxResourceGroupID = 64

// newSite validates in and returns the site to insert, without an id.
func (s *Service) newSite(in CreateSiteInput) (*Site, error) {
	name, err := CanonicalSiteName("SiteName", in.Name, s.PublicSuffix)
	if err != nil {
		return nil, err
	}
	access := in.AccessType
	if access == "" {
		access = "NS"
	}
	if !slices.Contains(AccessTypes, access) {
		return nil, domain.Invalid("AccessType", "must be NS or CNAME")
	}
	coverage := in.Coverage
	if coverage == "" {
		coverage = "overseas"
	}
	if !slices.Contains(Coverages, coverage) {
		return nil, domain.Invalid("Coverage", "must be domestic, global or overseas")
	}
	if len(in.ResourceGroupID) > MaxResourceGroupID {
		return nil, domain.Invalid("ResourceGroupId", fmt.Sprintf("is at most %d characters long", MaxResourceGroupID))
	}
	instance := in.InstanceID
	if instance == "" {
		if instance, err = s.DefaultInstanceID(); err != nil {
			return nil, err
		}
	}
	now := s.now()
	return &Site{
		Name:            name,
		AccessType:      access,
		Coverage:        coverage,
		Status:          SitePending,
		InstanceID:      instance,
		ResourceGroupID: in.ResourceGroupID,
		VerifyCode:      "verify_" + s.hexID(16),
		Created:         now,
		Updated:         now,
	}, nil
}

// siteID draws a 13-digit site id, the shape ESA's have.
func (s *Service) siteID() int64 { return domain.NumericID(s.Rand, 13) }

// hexID returns n random bytes in lowercase hex.
func (s *Service) hexID(n int) string { return domain.HexID(s.Rand, n) }

// Site returns the site with that id, or ErrSiteNotFound.
func (s *Service) Site(ctx context.Context, id int64) (Site, error) {
	return s.Store.Site(ctx, id)
}

// UpdateSiteCoverage changes the site's acceleration region
// (UpdateSiteCoverage): domestic, global or overseas.
func (s *Service) UpdateSiteCoverage(ctx context.Context, id int64, coverage string) error {
	if coverage == "" {
		return domain.Missing("Coverage")
	}
	if !slices.Contains(Coverages, coverage) {
		return domain.Invalid("Coverage", "must be domestic, global or overseas")
	}
	return s.Store.UpdateSiteCoverage(ctx, id, coverage, s.now())
}

// DeleteSite removes a site and everything that belongs to it.
func (s *Service) DeleteSite(ctx context.Context, id int64) error {
	return s.Store.DeleteSite(ctx, id)
}

// ListSites checks f and returns one page of matching sites and the total count.
func (s *Service) ListSites(ctx context.Context, f SiteFilter) ([]Site, int, error) {
	f.Name = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(f.Name), "."))
	if f.NameMatch == "" {
		f.NameMatch = domain.MatchExact
	}
	if !slices.Contains([]string{domain.MatchExact, domain.MatchPrefix, domain.MatchSuffix, domain.MatchFuzzy}, f.NameMatch) {
		return nil, 0, domain.Invalid("SiteSearchType", "must be exact, prefix, suffix or fuzzy")
	}
	if f.Status != "" && !slices.Contains(SiteStatuses, f.Status) {
		return nil, 0, domain.Invalid("Status", "must be pending, active, offline or moved")
	}
	if f.AccessType != "" && !slices.Contains(AccessTypes, f.AccessType) {
		return nil, 0, domain.Invalid("AccessType", "must be NS or CNAME")
	}
	if f.Coverage != "" && !slices.Contains(Coverages, f.Coverage) {
		return nil, 0, domain.Invalid("Coverage", "must be domestic, global or overseas")
	}
	return s.Store.ListSites(ctx, f)
}
