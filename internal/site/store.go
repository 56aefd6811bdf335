package site

import (
	"context"
	"time"

	"github.com/esacert/esacert/internal/domain"
)

// Store is what the site and plan use cases need from storage. Methods are
// safe for concurrent use. They return domain sentinels, never driver errors:
// domain.ErrNotFound for a missing row unless a method names a more specific
// one.
type Store interface {
	// CreateSite inserts s. In one transaction it checks that s.InstanceID
	// names an instance (else ErrInstanceNotFound), that the instance has room
	// (else ErrSiteQuota) and that no site has s.Name (else ErrSiteExists). A
	// clash on s.ID returns ErrExists, so the caller can pick another id.
	CreateSite(ctx context.Context, s Site) error
	// Site returns the site with that id, or ErrSiteNotFound.
	Site(ctx context.Context, id int64) (Site, error)
	// ListSites returns one page of the sites that match f, and how many match in all.
	ListSites(ctx context.Context, f SiteFilter) ([]Site, int, error)
	// DeleteSite removes the site and everything that belongs to it, or returns ErrSiteNotFound.
	DeleteSite(ctx context.Context, id int64) error
	// ActivateSite makes a pending site active (the edge serves it from then
	// on) and reports whether it changed it; ErrSiteNotFound when it is gone.
	ActivateSite(ctx context.Context, id int64, now time.Time) (bool, error)
	// ClaimPendingSites returns up to n pending sites whose next check is
	// due at now, soonest due first, and claims each: its failed checks
	// count one more and its next check moves to next(that count), so no
	// other caller gets it until then. A check that passes activates the
	// site (ActivateSite), which ends its checks.
	ClaimPendingSites(ctx context.Context, now time.Time, n int, next func(failures int) time.Time) ([]Site, error)
	// UpdateSiteCoverage sets the site's coverage (its Updated time to now),
	// or returns ErrSiteNotFound.
	UpdateSiteCoverage(ctx context.Context, id int64, coverage string, now time.Time) error
	// CreateInstance inserts a plan instance and, when site is not nil, that
	// site attached to it, in one transaction. An id that exists (of the
	// instance or the site) is ErrExists; a site name that exists is ErrSiteExists.
	CreateInstance(ctx context.Context, in Instance, site *Site) error
	// Instance returns the instance with that id, or ErrInstanceNotFound.
	Instance(ctx context.Context, id string) (Instance, error)
	// ChangeInstancePlan moves the instance from plan from to in.Plan, with
	// in's SiteQuota, BillingMode and OrderID, only while it is still on
	// from: ErrInstanceNotFound when it is gone, ErrConflict when another
	// change came first.
	ChangeInstancePlan(ctx context.Context, from string, in Instance) error
	// DeleteInstance removes the instance only while no site is attached to
	// it, and keeps r as its refund (InstanceRefund) in the same
	// transaction, forgetting refunds older than RefundMemory:
	// ErrInstanceNotFound when it is gone, else an error wrapping
	// ErrInstanceInUse whose text names the sites.
	DeleteInstance(ctx context.Context, id string, r Refund) error
	// InstanceRefund returns the refund of a deleted instance, or
	// ErrInstanceNotFound when there is none (any more).
	InstanceRefund(ctx context.Context, id string) (Refund, error)
	// ListInstances returns one page of the instances that match f, each with
	// its sites, and how many match in all.
	ListInstances(ctx context.Context, f InstanceFilter) ([]Instance, int, error)
}

// SiteFilter selects sites. Zero fields select everything.
type SiteFilter struct {
	// Tags: only the sites that have each of these tags; a tag without a
	// Value matches any value of its Key (ListSites' TagFilter). None
	// selects every site.
	Tags            []domain.Tag
	Name            string // compared as NameMatch says; lowercase
	NameMatch       string // exact (default), prefix, suffix or fuzzy
	Status          string
	AccessType      string
	Coverage        string
	SubscribeType   string // the attached instance's subscription type
	ResourceGroupID string
	OnlyEnterprise  bool
	Page            domain.Page
}

// InstanceFilter selects plan instances. Zero fields select everything.
type InstanceFilter struct {
	ID            string
	Status        string
	SubscribeType string
	PlanType      string // normal or enterprise
	PlanName      string // a plan name or plan code
	WithRoomOnly  bool   // only instances that can take one more site
	ExpiresBefore time.Time
	SortByExpiry  bool // else by creation time
	Ascending     bool // else descending
	Page          domain.Page
}
