package api

import (
	"context"
	"fmt"
	"time"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/site"
)

func (s *Server) purchaseRatePlan(ctx context.Context, p *params) (any, error) {
	period, err := p.int("Period")
	if err != nil {
		return nil, err
	}
	amount, err := p.int("Amount")
	if err != nil {
		return nil, err
	}
	autoRenew, err := p.boolean("AutoRenew")
	if err != nil {
		return nil, err
	}
	if _, err := p.boolean("AutoPay"); err != nil {
		return nil, err
	}
	in, err := s.Sites.PurchasePlan(ctx, site.PurchaseInput{
		PlanName:   p.str("PlanName"),
		PlanCode:   p.str("PlanCode"),
		Coverage:   p.str("Coverage"),
		ChargeType: p.str("ChargeType"),
		Period:     period,
		AutoRenew:  autoRenew,
		Amount:     amount,
		SiteName:   p.str("SiteName"),
		AccessType: p.str("Type"),
	})
	if err != nil {
		return nil, err
	}
	return struct{ InstanceId, OrderId string }{in.ID, in.OrderID}, nil
}

func (s *Server) updateRatePlanSpec(ctx context.Context, p *params) (any, error) {
	if _, err := p.boolean("AutoPay"); err != nil {
		return nil, err
	}
	in, err := s.Sites.UpgradePlan(ctx, site.UpgradeInput{
		InstanceID: p.str("InstanceId"),
		PlanName:   p.str("TargetPlanName"),
		PlanCode:   p.str("TargetPlanCode"),
		ChargeType: p.str("ChargeType"),
		OrderType:  p.str("OrderType"),
	})
	if err != nil {
		return nil, err
	}
	return struct{ InstanceId, OrderId string }{in.ID, in.OrderID}, nil
}

// instanceJSON is one InstanceInfo[] entry of ListUserRatePlanInstances.
type instanceJSON struct {
	InstanceId    string
	PlanName      string
	PlanType      string
	SubscribeType string
	BillingMode   string
	Coverages     string
	CreateTime    string
	ExpireTime    string `json:",omitempty"`
	Duration      int
	SiteQuota     string
	Status        string
	RenewalStatus string
	Sites         []instanceSiteJSON
}

type instanceSiteJSON struct {
	SiteId     int64
	SiteName   string
	SiteStatus string
}

// unlimitedSites is the SiteQuota shown for an instance without a site limit
// (the default instance): a number, as clients expect, that no instance reaches.
const unlimitedSites = "2147483647"

func (s *Server) listUserRatePlanInstances(ctx context.Context, p *params) (any, error) {
	page, err := p.page(20, 500)
	if err != nil {
		return nil, err
	}
	withRoom, err := p.boolean("CheckRemainingSiteQuota")
	if err != nil {
		return nil, err
	}
	days, err := p.int("RemainingExpireDays")
	if err != nil {
		return nil, err
	}
	if days < 0 || days > 36500 {
		return nil, domain.Invalid("RemainingExpireDays", "must be a number of days between 1 and 36500")
	}
	f := site.InstanceFilter{
		ID:            p.str("InstanceId"),
		Status:        p.str("Status"),
		SubscribeType: p.str("SubscribeType"),
		PlanType:      p.str("PlanType"),
		PlanName:      p.str("PlanNameEn"),
		WithRoomOnly:  withRoom,
		Page:          page,
	}
	if days > 0 {
		f.ExpiresBefore = s.now().Add(time.Duration(days) * 24 * time.Hour)
	}
	switch p.str("SortBy") {
	case "", "CreateTime":
	case "ExpireTime":
		f.SortByExpiry = true
	default:
		return nil, domain.Invalid("SortBy", "must be CreateTime or ExpireTime")
	}
	switch p.str("SortOrder") {
	case "", "desc":
	case "asc":
		f.Ascending = true
	default:
		return nil, domain.Invalid("SortOrder", "must be asc or desc")
	}
	list, total, err := s.Sites.ListInstances(ctx, f)
	if err != nil {
		return nil, err
	}
	out := struct {
		InstanceInfo []instanceJSON
		PageNumber   int
		PageSize     int
		TotalCount   int
		TotalPage    int
	}{InstanceInfo: []instanceJSON{}, PageNumber: page.Offset/page.Limit + 1, PageSize: page.Limit,
		TotalCount: total, TotalPage: (total + page.Limit - 1) / page.Limit}
	for _, in := range list {
		j := instanceJSON{
			InstanceId:    in.ID,
			PlanName:      in.Plan.Name,
			PlanType:      in.Plan.Type(),
			SubscribeType: in.Plan.SubscribeType,
			BillingMode:   in.BillingMode,
			Coverages:     in.Coverage,
			CreateTime:    fmtSiteTime(in.Created),
			ExpireTime:    fmtSiteTime(in.Expires),
			Duration:      in.Period,
			SiteQuota:     unlimitedSites,
			Status:        in.Status,
			RenewalStatus: "not_renewal",
			Sites:         []instanceSiteJSON{},
		}
		if in.SiteQuota > 0 {
			j.SiteQuota = fmt.Sprint(in.SiteQuota)
		}
		if in.AutoRenew {
			j.RenewalStatus = "auto_renewal"
		}
		for _, ref := range in.Sites {
			j.Sites = append(j.Sites, instanceSiteJSON{ref.ID, ref.Name, ref.Status})
		}
		out.InstanceInfo = append(out.InstanceInfo, j)
	}
	return out, nil
}

func (s *Server) describeRatePlanInstanceStatus(ctx context.Context, p *params) (any, error) {
	id, err := p.required("InstanceId")
	if err != nil {
		return nil, err
	}
	in, err := s.Sites.Instance(ctx, id)
	if err != nil {
		return nil, err
	}
	return struct{ InstanceId, InstanceStatus string }{in.ID, site.InstanceRunning}, nil
}
