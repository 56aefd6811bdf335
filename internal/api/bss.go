package api

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/site"
)

// BSSVersion is the version of BssOpenApi (Alibaba Cloud's billing API),
// whose RefundInstance releases an ESA plan instance: Terraform's
// alicloud_esa_rate_plan_instance calls it on destroy.
const BSSVersion = "2017-12-14"

// refundInstance answers as BssOpenApi does, with Success and the refund's
// OrderId in Data, but without BssOpenApi's Code "Success" and Message: no
// success body of esacert carries a Code (clients read a Code as an error).
// ProductCode, when sent, must be dcdn (ESA plan instances are billed as
// DCDN products); ProductType is accepted and ignored, and
// ImmediatelyRelease 0 or 1 both release at once. A call repeating the
// ClientToken of the refund that removed the instance gets that refund's
// answer again; otherwise an unknown instance is BssOpenApi's
// ResourceNotExists, which the provider takes as destroyed.
func (s *Server) refundInstance(ctx context.Context, p *params) (any, error) {
	if code := p.str("ProductCode"); code != "" && code != "dcdn" {
		return nil, domain.Invalid("ProductCode", "only dcdn (ESA plan instances) can be refunded")
	}
	switch p.str("ImmediatelyRelease") {
	case "", "0", "1":
	default:
		return nil, domain.Invalid("ImmediatelyRelease", "must be 0 or 1")
	}
	orderID, err := s.Sites.RefundInstance(ctx, p.str("InstanceId"), p.str("ClientToken"))
	if errors.Is(err, site.ErrInstanceNotFound) {
		return nil, fmt.Errorf("%w: %w", errResourceNotExists, err)
	}
	if err != nil {
		return nil, err
	}
	id, err := strconv.ParseInt(orderID, 10, 64)
	if err != nil {
		return nil, err
	}
	type data struct {
		HostId  string
		OrderId int64
	}
	return struct {
		Success bool
		Data    data
	}{true, data{"cn", id}}, nil
}

// bssInstance is one instance of QueryAvailableInstances' InstanceList.
type bssInstance struct {
	InstanceID       string
	ProductCode      string
	ProductType      string
	SubscriptionType string
	Status           string
	RenewStatus      string
	Region           string
	CreateTime       string
	EndTime          string
}

// queryAvailableInstances answers BssOpenApi's QueryAvailableInstances,
// which the Terraform provider calls at every start to learn whether the
// account is a China or an international one (any answer but NotApplicable
// means China). esacert bills only ESA plan instances: for ProductCode dcdn
// (or none) the list is the purchased plan instances (not the default one,
// which is esacert's own), for any other product it is empty.
func (s *Server) queryAvailableInstances(ctx context.Context, p *params) (any, error) {
	page, err := p.int("PageNum")
	if err != nil {
		return nil, err
	}
	size, err := p.int("PageSize")
	if err != nil {
		return nil, err
	}
	if page == 0 {
		page = 1
	}
	if size == 0 {
		size = 20
	}
	if page < 1 {
		return nil, domain.Invalid("PageNum", "must be at least 1")
	}
	if size < 1 || size > 300 {
		return nil, domain.Invalid("PageSize", "must be between 1 and 300")
	}
	type data struct {
		PageNum, PageSize, TotalCount int
		InstanceList                  []bssInstance
	}
	out := data{PageNum: page, PageSize: size, InstanceList: []bssInstance{}}
	if code := p.str("ProductCode"); code == "" || code == "dcdn" {
		all, _, err := s.Sites.ListInstances(ctx, site.InstanceFilter{Ascending: true})
		if err != nil {
			return nil, err
		}
		var list []bssInstance
		for _, in := range all {
			if in.Default {
				continue
			}
			sub := "Subscription"
			if in.BillingMode == "POSTPAY" {
				sub = "PayAsYouGo"
			}
			list = append(list, bssInstance{InstanceID: in.ID, ProductCode: "dcdn", ProductType: "dcdn_dcdnserviceplan_public_cn",
				SubscriptionType: sub, Status: "Normal", RenewStatus: "ManualRenewal", Region: "cn-hangzhou",
				CreateTime: in.Created.UTC().Format(time.RFC3339), EndTime: in.Expires.UTC().Format(time.RFC3339)})
		}
		out.TotalCount = len(list)
		if from := (page - 1) * size; from < len(list) {
			out.InstanceList = list[from:min(from+size, len(list))]
		}
	}
	return struct {
		Success bool
		Data    data
	}{true, out}, nil
}
