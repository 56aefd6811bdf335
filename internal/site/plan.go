package site

import (
	"fmt"
	"sort"
	"time"

	"github.com/esacert/esacert/internal/domain"
)

// Plan tiers. Every plan name or code a client may send belongs to one tier,
// and a tier carries the limits (see Limits).
const (
	TierBasic      = "basic"
	TierStandard   = "standard"
	TierAdvanced   = "advanced"
	TierEnterprise = "enterprise"
)

// Limits are what a plan allows. A zero count means no limit.
type Limits struct {
	Sites       int // sites one instance may hold
	CustomCerts int // certificates of types upload, cas and keyless per site
	FreeCerts   int // free (ACME) certificates per site
}

// DefaultLimits are the limits of each tier unless the operator configures
// others (decisions.md "Sites and plans").
func DefaultLimits() map[string]Limits {
	return map[string]Limits{
		TierBasic:      {Sites: 1, CustomCerts: 5, FreeCerts: 10},
		TierStandard:   {Sites: 1, CustomCerts: 10, FreeCerts: 30},
		TierAdvanced:   {Sites: 1, CustomCerts: 15, FreeCerts: 50},
		TierEnterprise: {Sites: 0, CustomCerts: 20, FreeCerts: 100},
	}
}

// TierLimits returns the limits of tier in limits, or its DefaultLimits
// when limits is nil or has no entry for it: what a Limits field of a
// Service means.
func TierLimits(limits map[string]Limits, tier string) Limits {
	if l, ok := limits[tier]; ok {
		return l
	}
	return DefaultLimits()[tier]
}

// Plan describes one purchasable plan: the name a client uses, the plan code
// and the subscription type ESA reports for it, and its tier.
type Plan struct {
	Name          string // PlanName as purchased: basic, medium, high, entranceplan, …
	Code          string // PlanCode: entranceplan, basicplan, standardplan, advancedplan, enterpriseplan
	SubscribeType string // entranceplan, entranceplan_intl, basicplan, standardplan, advancedplan, enterpriseplan
	Tier          string
}

// Type is "enterprise" for the enterprise tier and "normal" otherwise, as
// ESA's PlanType says.
func (p Plan) Type() string {
	if p.Tier == TierEnterprise {
		return "enterprise"
	}
	return "normal"
}

// plans lists every plan name esacert accepts, in ESA's three vocabularies
// (esa-more-api.md §3.1). Plan codes are accepted as names too.
var plans = []Plan{
	{Name: "entranceplan", Code: "entranceplan", SubscribeType: "entranceplan", Tier: TierBasic},
	{Name: "entranceplan_intl", Code: "entranceplan", SubscribeType: "entranceplan_intl", Tier: TierBasic},
	{Name: "basic", Code: "basicplan", SubscribeType: "basicplan", Tier: TierBasic},
	{Name: "basicplan", Code: "basicplan", SubscribeType: "basicplan", Tier: TierBasic},
	{Name: "medium", Code: "standardplan", SubscribeType: "standardplan", Tier: TierStandard},
	{Name: "standardplan", Code: "standardplan", SubscribeType: "standardplan", Tier: TierStandard},
	{Name: "basicplan_intl", Code: "standardplan", SubscribeType: "standardplan", Tier: TierStandard},
	{Name: "high", Code: "advancedplan", SubscribeType: "advancedplan", Tier: TierAdvanced},
	{Name: "advancedplan", Code: "advancedplan", SubscribeType: "advancedplan", Tier: TierAdvanced},
	{Name: "vipplan_intl", Code: "advancedplan", SubscribeType: "advancedplan", Tier: TierAdvanced},
	{Name: "enterpriseplan", Code: "enterpriseplan", SubscribeType: "enterpriseplan", Tier: TierEnterprise},
	{Name: "enterprise", Code: "enterpriseplan", SubscribeType: "enterpriseplan", Tier: TierEnterprise},
}

// rank orders plans for upgrades: a plan may move only to a higher rank
// (ESA upgrades, never downgrades), and not into or out of the enterprise
// tier, which has no upgrade path in ESA.
func (p Plan) rank() int {
	switch p.Name {
	case "entranceplan", "entranceplan_intl":
		return 0
	case "basic", "basicplan":
		return 1
	}
	return map[string]int{TierBasic: 1, TierStandard: 2, TierAdvanced: 3, TierEnterprise: 4}[p.Tier]
}

// international reports whether the plan is one of the international
// site's (alibabacloud.com) names.
func (p Plan) international() bool {
	return p.Name == "entranceplan_intl" || p.Name == "basicplan_intl" || p.Name == "vipplan_intl"
}

// intlCodeNames is the international plan name of each plan code, for an
// upgrade of an international instance by TargetPlanCode.
var intlCodeNames = map[string]string{
	"entranceplan": "entranceplan_intl",
	"standardplan": "basicplan_intl",
	"advancedplan": "vipplan_intl",
}

// codeNames is the plan name used when a client names only a PlanCode.
var codeNames = map[string]string{
	"entranceplan":   "entranceplan",
	"basicplan":      "basic",
	"standardplan":   "medium",
	"advancedplan":   "high",
	"enterpriseplan": "enterpriseplan",
}

// LookupPlan finds the plan with that PlanName, or returns false.
func LookupPlan(name string) (Plan, bool) {
	for _, p := range plans {
		if p.Name == name {
			return p, true
		}
	}
	return Plan{}, false
}

// PlanNames lists the accepted plan names, sorted.
func PlanNames() []string {
	names := make([]string, 0, len(plans))
	for _, p := range plans {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	return names
}

// resolvePlan picks the plan for a purchase from PlanName and PlanCode, either
// of which may be empty (but not both).
func resolvePlan(name, code string) (Plan, error) {
	if name == "" && code == "" {
		return Plan{}, domain.Missing("PlanName")
	}
	if name == "" {
		n, ok := codeNames[code]
		if !ok {
			return Plan{}, domain.Invalid("PlanCode", fmt.Sprintf("unknown plan code %q", code))
		}
		name = n
	}
	p, ok := LookupPlan(name)
	if !ok {
		return Plan{}, domain.Invalid("PlanName", fmt.Sprintf("unknown plan %q", name))
	}
	if code != "" && code != p.Code {
		return Plan{}, domain.Invalid("PlanCode", fmt.Sprintf("plan code %q does not belong to plan %q", code, name))
	}
	return p, nil
}

// Instance statuses (ListUserRatePlanInstances) and the one instance state
// DescribeRatePlanInstanceStatus reports for a usable instance.
const (
	InstanceOnline  = "online"
	InstanceRunning = "running"
)

// Instance is a plan instance: what a site is attached to, and what sets the
// site's limits. esacert has no billing: an instance exists from its purchase
// on and does not lapse; Expires is informational.
type Instance struct {
	ID          string
	OrderID     string
	Plan        Plan
	Coverage    string // comma-separated coverages the instance allows
	BillingMode string // PREPAY or POSTPAY
	AutoRenew   bool
	Period      int // months
	SiteQuota   int // 0 means no limit
	Status      string
	Created     time.Time
	Expires     time.Time
	Default     bool // the instance sites without an InstanceId are attached to

	// Sites is filled by ListInstances: the sites attached, by id.
	Sites []SiteRef
}

// SiteRef is a short reference to a site.
type SiteRef struct {
	ID     int64
	Name   string
	Status string
}
