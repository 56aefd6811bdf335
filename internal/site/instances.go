package site

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/esacert/esacert/internal/domain"
)

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
		if !slices.Contains(Coverages, c) {
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
		if !slices.Contains(AccessTypes, access) {
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
		err = s.Store.CreateInstance(ctx, inst, site)
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
		cur, err := s.Store.Instance(ctx, in.InstanceID)
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
		err = s.Store.ChangeInstancePlan(ctx, cur.Plan.Name, next)
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
	return s.Store.Instance(ctx, id)
}

// ListInstances checks f and returns one page of matching instances.
func (s *Service) ListInstances(ctx context.Context, f InstanceFilter) ([]Instance, int, error) {
	if f.Status != "" && !slices.Contains([]string{InstanceOnline, "offline", "disable", "overdue"}, f.Status) {
		return nil, 0, domain.Invalid("Status", "must be online, offline, disable or overdue")
	}
	if f.PlanType != "" && !slices.Contains([]string{"normal", "enterprise"}, f.PlanType) {
		return nil, 0, domain.Invalid("PlanType", "must be normal or enterprise")
	}
	return s.Store.ListInstances(ctx, f)
}

// RefundInstance releases a plan instance at once (esacert bills nothing, so
// there is nothing to pay back) and returns the refund's order id. An
// instance that still has sites is refused with an error wrapping
// ErrInstanceInUse that names them; the default instance is refused with a
// ParamError on InstanceId; an unknown one is ErrInstanceNotFound. A call
// that repeats the ClientToken of the refund that removed the instance,
// within RefundMemory, gets that refund's order id again (a client retrying
// after a lost answer).
func (s *Service) RefundInstance(ctx context.Context, id, clientToken string) (orderID string, err error) {
	if id == "" {
		return "", domain.Missing("InstanceId")
	}
	if len(clientToken) > MaxClientToken {
		return "", domain.Invalid("ClientToken", fmt.Sprintf("is at most %d characters long", MaxClientToken))
	}
	cur, err := s.Store.Instance(ctx, id)
	if errors.Is(err, ErrInstanceNotFound) {
		return s.repeatedRefund(ctx, id, clientToken)
	}
	if err != nil {
		return "", err
	}
	if cur.Default {
		return "", domain.Invalid("InstanceId", "the default instance cannot be refunded: sites without an InstanceId are attached to it")
	}
	r := Refund{ClientToken: clientToken, OrderID: fmt.Sprint(s.siteID()), At: s.now()}
	err = s.Store.DeleteInstance(ctx, id, r)
	if errors.Is(err, ErrInstanceNotFound) { // refunded meanwhile
		return s.repeatedRefund(ctx, id, clientToken)
	}
	if err != nil {
		return "", err
	}
	return r.OrderID, nil
}

// repeatedRefund answers a refund of an instance that is gone: the same
// answer as the refund that removed it when the call repeats its
// ClientToken, else ErrInstanceNotFound.
func (s *Service) repeatedRefund(ctx context.Context, id, clientToken string) (string, error) {
	if clientToken == "" {
		return "", ErrInstanceNotFound
	}
	r, err := s.Store.InstanceRefund(ctx, id)
	if err != nil {
		return "", err
	}
	if r.ClientToken != clientToken || s.now().Sub(r.At) > RefundMemory {
		return "", ErrInstanceNotFound
	}
	return r.OrderID, nil
}

// Refund is what refunding a plan instance left: the refund order, and the
// ClientToken of the call that made it.
type Refund struct {
	ClientToken string
	OrderID     string
	At          time.Time
}

// RefundMemory is how long a refund is remembered for calls that repeat its
// ClientToken; MaxClientToken bounds a ClientToken, as Alibaba Cloud does.
const (
	RefundMemory   = 24 * time.Hour
	MaxClientToken = 64
)
