package cert

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/origin"
)

// Service holds the use cases on sites and plans. Its fields are set once,
// before first use; after that a Service is safe for concurrent use.
type Service struct {
	Sites SiteStore // required
	// Certs and Repo store certificates and the certificate repository;
	// Sealer seals their private keys. All three are required for the
	// certificate use cases.
	Certs  CertStore
	Repo   RepoStore
	Sealer domain.Sealer
	// Records stores DNS records; required for the record use cases.
	Records RecordStore
	// HTTPS stores HTTPS configurations; required for their use cases.
	HTTPS HTTPSStore
	// Frees stores free certificates, and Issuer obtains them; nil Issuer
	// disables ApplyCertificate.
	Frees      FreeStore
	Issuer     Issuer
	Challenges ChallengeStore // optional: shows validations in progress
	// Kick, when set, is signalled when new work for the renewer exists.
	Kick chan struct{}
	// Log, when set, receives failures of background work.
	Log func(msg, id string, err error)

	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Rand is the source of ids and verification codes; nil means crypto/rand.
	Rand io.Reader
	// DefaultPlan is the plan name of the instance that sites created without
	// an InstanceId are attached to; "" means "basic".
	DefaultPlan string
	// Limits are the limits of each plan tier; nil means DefaultLimits().
	Limits map[string]Limits
	// VerifyOwnership makes new sites start pending instead of active,
	// until VerifySite finds the proof of ownership in DNS.
	VerifyOwnership bool
	// NameServers are the name servers NS sites are told to delegate to;
	// VerifySite checks an NS site's delegation against them.
	NameServers []string
	// Resolver looks up the DNS records VerifySite checks.
	Resolver Resolver
	// PublicSuffix, when set, refuses site names that are public suffixes
	// (golang.org/x/net/publicsuffix.PublicSuffix fits); nil skips that check.
	PublicSuffix PublicSuffixFunc
	// Origins is the origin policy the origins of proxied records must pass
	// when they are written (see checkOrigins); the zero Policy refuses
	// every address that is not public. The edge applies the policy again
	// when it connects.
	Origins origin.Policy
}

func (s *Service) now() time.Time { return domain.Now(s.Now) }

func (s *Service) limits(tier string) Limits {
	if s.Limits != nil {
		if l, ok := s.Limits[tier]; ok {
			return l
		}
	}
	return DefaultLimits()[tier]
}

// defaultPlan returns the plan of the default instance.
func (s *Service) defaultPlan() (Plan, error) {
	name := s.DefaultPlan
	if name == "" {
		name = "basic"
	}
	p, ok := LookupPlan(name)
	if !ok {
		return Plan{}, fmt.Errorf("cert: unknown default plan %q", name)
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
	if err := s.Sites.CreateInstance(ctx, in, nil); err != nil && !errors.Is(err, domain.ErrExists) {
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

// CreateSite validates in and creates the site: active at once, or pending
// when ownership verification is on.
func (s *Service) CreateSite(ctx context.Context, in CreateSiteInput) (Site, error) {
	site, err := s.newSite(in)
	if err != nil {
		return Site{}, err
	}
	for attempt := 0; ; attempt++ {
		site.ID = s.siteID()
		err = s.Sites.CreateSite(ctx, *site)
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
	return s.Sites.Site(ctx, site.ID)
}

// maxResourceGroupID bounds a resource group id, which esacert only stores.
const maxResourceGroupID = 64

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
	if !oneOf(access, AccessTypes) {
		return nil, domain.Invalid("AccessType", "must be NS or CNAME")
	}
	coverage := in.Coverage
	if coverage == "" {
		coverage = "overseas"
	}
	if !oneOf(coverage, Coverages) {
		return nil, domain.Invalid("Coverage", "must be domestic, global or overseas")
	}
	if len(in.ResourceGroupID) > maxResourceGroupID {
		return nil, domain.Invalid("ResourceGroupId", fmt.Sprintf("is at most %d characters long", maxResourceGroupID))
	}
	instance := in.InstanceID
	if instance == "" {
		if instance, err = s.DefaultInstanceID(); err != nil {
			return nil, err
		}
	}
	status := SiteActive
	if s.VerifyOwnership {
		status = SitePending
	}
	now := s.now()
	return &Site{
		Name:            name,
		AccessType:      access,
		Coverage:        coverage,
		Status:          status,
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
	return s.Sites.Site(ctx, id)
}

// DeleteSite removes a site and everything that belongs to it.
func (s *Service) DeleteSite(ctx context.Context, id int64) error {
	return s.Sites.DeleteSite(ctx, id)
}

// ListSites checks f and returns one page of matching sites and the total count.
func (s *Service) ListSites(ctx context.Context, f SiteFilter) ([]Site, int, error) {
	f.Name = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(f.Name), "."))
	if f.NameMatch == "" {
		f.NameMatch = domain.MatchExact
	}
	if !oneOf(f.NameMatch, []string{domain.MatchExact, domain.MatchPrefix, domain.MatchSuffix, domain.MatchFuzzy}) {
		return nil, 0, domain.Invalid("SiteSearchType", "must be exact, prefix, suffix or fuzzy")
	}
	if f.Status != "" && !oneOf(f.Status, SiteStatuses) {
		return nil, 0, domain.Invalid("Status", "must be pending, active, offline or moved")
	}
	if f.AccessType != "" && !oneOf(f.AccessType, AccessTypes) {
		return nil, 0, domain.Invalid("AccessType", "must be NS or CNAME")
	}
	if f.Coverage != "" && !oneOf(f.Coverage, Coverages) {
		return nil, 0, domain.Invalid("Coverage", "must be domestic, global or overseas")
	}
	return s.Sites.ListSites(ctx, f)
}

// PurchaseInput is what PurchasePlan takes. esacert bills nothing: the
// instance exists from the moment the call succeeds.
type PurchaseInput struct {
	PlanName   string
	PlanCode   string
	Coverage   string // comma-separated; default all three
	ChargeType string // PREPAY (default) or POSTPAY
	Period     int    // months; default 1
	AutoRenew  bool
	Amount     int // only 1 (or 0, meaning 1) is accepted
	// SiteName, when set, creates that site on the new instance as well, with
	// AccessType (default NS).
	SiteName   string
	AccessType string
}

// PurchasePlan creates a plan instance, running at once.
func (s *Service) PurchasePlan(ctx context.Context, in PurchaseInput) (Instance, error) {
	p, err := resolvePlan(in.PlanName, in.PlanCode)
	if err != nil {
		return Instance{}, err
	}
	coverage := in.Coverage
	if coverage == "" {
		coverage = strings.Join(Coverages, ",")
	}
	for _, c := range strings.Split(coverage, ",") {
		if !oneOf(c, Coverages) {
			return Instance{}, domain.Invalid("Coverage", "must be domestic, global or overseas")
		}
	}
	billing := strings.ToUpper(in.ChargeType)
	switch billing {
	case "":
		billing = "PREPAY"
	case "PREPAY", "POSTPAY":
	default:
		return Instance{}, domain.Invalid("ChargeType", "must be PREPAY or POSTPAY")
	}
	period := in.Period
	if period == 0 {
		period = 1
	}
	if period < 0 || period > 120 {
		return Instance{}, domain.Invalid("Period", "must be between 1 and 120 months")
	}
	if in.Amount < 0 || in.Amount > 1 {
		return Instance{}, domain.Invalid("Amount", "one instance is purchased per call")
	}
	var site *Site
	if in.SiteName != "" {
		access := in.AccessType
		if access == "" {
			access = "NS"
		}
		if !oneOf(access, AccessTypes) {
			return Instance{}, domain.Invalid("Type", "must be NS or CNAME")
		}
		siteCoverage := "overseas"
		if in.Coverage != "" {
			siteCoverage = strings.Split(in.Coverage, ",")[0]
		}
		if site, err = s.newSite(CreateSiteInput{Name: in.SiteName, AccessType: access, Coverage: siteCoverage}); err != nil {
			return Instance{}, err
		}
	}
	now := s.now()
	inst := Instance{
		Plan:        p,
		OrderID:     fmt.Sprint(s.siteID()),
		Coverage:    coverage,
		BillingMode: billing,
		AutoRenew:   in.AutoRenew,
		Period:      period,
		SiteQuota:   s.limits(p.Tier).Sites,
		Status:      InstanceOnline,
		Created:     now,
		Expires:     now.AddDate(0, period, 0),
	}
	for attempt := 0; ; attempt++ {
		inst.ID = "esa-site-" + s.hexID(6)
		if site != nil {
			site.ID = s.siteID()
		}
		err = s.Sites.CreateInstance(ctx, inst, site)
		if errors.Is(err, domain.ErrExists) && attempt < 5 {
			continue // an id clash: draw again
		}
		break
	}
	if err != nil {
		return Instance{}, err
	}
	return inst, nil
}

// Resolver looks up DNS records of a fully qualified name. A name without
// such records is an empty answer, not an error; an error means no answer
// came (a timeout, a refusal).
type Resolver interface {
	LookupNS(ctx context.Context, fqdn string) ([]string, error)
	LookupTXT(ctx context.Context, fqdn string) ([]string, error)
}

// VerifySite looks for the proof that the site's owner controls its
// domain, and activates a pending site that has it (the edge serves it from
// then on): for a CNAME site, a TXT record _esaauth.<site> holding the
// site's VerifyCode; for an NS site, the domain delegated to the assigned
// name servers (every NS record names one of them). It reports whether the
// site passed; an active site passes at once, an offline or moved one never.
// A DNS answer that does not come (no record, no domain, a timeout) is a
// failed check, not an error.
func (s *Service) VerifySite(ctx context.Context, id int64) (bool, error) {
	site, err := s.Sites.Site(ctx, id)
	if err != nil {
		return false, err
	}
	switch {
	case site.Status == SiteActive:
		return true, nil
	case site.Status != SitePending || s.Resolver == nil:
		return false, nil
	}
	passed := false
	var lookupErr error
	switch site.AccessType {
	case "CNAME":
		var txts []string
		txts, lookupErr = s.Resolver.LookupTXT(ctx, "_esaauth."+site.Name+".")
		passed = slices.Contains(txts, site.VerifyCode)
	case "NS":
		assigned := map[string]bool{}
		for _, n := range s.NameServers {
			assigned[strings.ToLower(strings.TrimSuffix(strings.TrimSpace(n), "."))] = true
		}
		var hosts []string
		hosts, lookupErr = s.Resolver.LookupNS(ctx, site.Name+".")
		passed = len(hosts) > 0 && len(assigned) > 0
		for _, h := range hosts {
			passed = passed && assigned[strings.ToLower(strings.TrimSuffix(h, "."))]
		}
	}
	if lookupErr != nil && s.Log != nil { // the operator's resolvers, not the user's records
		s.Log("site verification got no DNS answer", site.Name, lookupErr)
	}
	if !passed {
		return false, nil
	}
	if changed, err := s.Sites.ActivateSite(ctx, id, s.now()); err != nil || changed {
		return changed, err
	}
	now, err := s.Sites.Site(ctx, id) // it left pending meanwhile: report what it is
	return err == nil && now.Status == SiteActive, err
}

// UpgradeInput is what UpdateRatePlanSpec asks.
type UpgradeInput struct {
	InstanceID string
	PlanName   string // the target; PlanName or PlanCode
	PlanCode   string
	ChargeType string // PREPAY or POSTPAY; "" keeps the instance's
	OrderType  string // only UPGRADE ("" means it)
}

// UpgradePlan moves an instance to a larger plan, at once (there is no
// billing): its sites get the new plan's limits from the next request on.
// Asking for the plan the instance has is a success that changes nothing,
// so a retried request does not fail. Downgrades, moves between the China
// and the international vocabularies, moves into or out of the enterprise
// tier, and the default instance are refused.
func (s *Service) UpgradePlan(ctx context.Context, in UpgradeInput) (Instance, error) {
	if in.InstanceID == "" {
		return Instance{}, domain.Missing("InstanceId")
	}
	if in.OrderType != "" && !strings.EqualFold(in.OrderType, "UPGRADE") {
		return Instance{}, domain.Invalid("OrderType", "only UPGRADE: plans are not downgraded")
	}
	if in.PlanName == "" && in.PlanCode == "" {
		return Instance{}, domain.Missing("TargetPlanName")
	}
	billing := strings.ToUpper(in.ChargeType)
	if billing != "" && billing != "PREPAY" && billing != "POSTPAY" {
		return Instance{}, domain.Invalid("ChargeType", "must be PREPAY or POSTPAY")
	}
	for attempt := 0; ; attempt++ {
		cur, err := s.Sites.Instance(ctx, in.InstanceID)
		if err != nil {
			return Instance{}, err
		}
		if cur.Default {
			return Instance{}, domain.Invalid("InstanceId", "the default instance's plan is the operator's choice (the default_plan setting)")
		}
		target, err := upgradeTarget(cur.Plan, in.PlanName, in.PlanCode)
		if err != nil {
			return Instance{}, err
		}
		if target.Name == cur.Plan.Name {
			return cur, nil
		}
		next := cur
		next.Plan = target
		next.OrderID = fmt.Sprint(s.siteID())
		next.SiteQuota = s.limits(target.Tier).Sites
		if billing != "" {
			next.BillingMode = billing
		}
		err = s.Sites.ChangeInstancePlan(ctx, cur.Plan.Name, next)
		if errors.Is(err, domain.ErrConflict) && attempt < 3 {
			continue // another change came first: judge against it
		}
		if err != nil {
			return Instance{}, err
		}
		return next, nil
	}
}

// upgradeTarget resolves the plan an instance on plan cur asks to move to,
// by TargetPlanName or, when only TargetPlanCode is given, by the code in
// cur's vocabulary, and checks that the move is an upgrade.
func upgradeTarget(cur Plan, name, code string) (Plan, error) {
	param := "TargetPlanName"
	if name == "" {
		param = "TargetPlanCode"
		name = codeNames[code]
		if cur.international() {
			name = intlCodeNames[code]
		}
		if name == "" {
			return Plan{}, domain.Invalid(param, fmt.Sprintf("no plan of code %q for an instance on plan %q", code, cur.Name))
		}
	}
	target, err := resolvePlan(name, code)
	if pe := (*domain.ParamError)(nil); errors.As(err, &pe) {
		pe.Param = "Target" + pe.Param // the parameters are TargetPlanName and TargetPlanCode
	}
	if err != nil {
		return Plan{}, err
	}
	switch {
	case target.Name == cur.Name:
		return target, nil
	case target.international() != cur.international():
		return Plan{}, domain.Invalid(param, fmt.Sprintf("plan %q and the instance's plan %q belong to different sites (China and international)", target.Name, cur.Name))
	case (cur.Tier == TierEnterprise) != (target.Tier == TierEnterprise):
		return Plan{}, domain.Invalid(param, "an instance cannot move into or out of the enterprise plan")
	case target.rank() <= cur.rank():
		return Plan{}, domain.Invalid(param, fmt.Sprintf("plan %q is not larger than the instance's plan %q: only upgrades are possible", target.Name, cur.Name))
	}
	return target, nil
}

// Instance returns the plan instance with that id, or ErrInstanceNotFound.
func (s *Service) Instance(ctx context.Context, id string) (Instance, error) {
	return s.Sites.Instance(ctx, id)
}

// ListInstances checks f and returns one page of matching instances.
func (s *Service) ListInstances(ctx context.Context, f InstanceFilter) ([]Instance, int, error) {
	if f.Status != "" && !oneOf(f.Status, []string{InstanceOnline, "offline", "disable", "overdue"}) {
		return nil, 0, domain.Invalid("Status", "must be online, offline, disable or overdue")
	}
	if f.PlanType != "" && !oneOf(f.PlanType, []string{"normal", "enterprise"}) {
		return nil, 0, domain.Invalid("PlanType", "must be normal or enterprise")
	}
	return s.Sites.ListInstances(ctx, f)
}
