package api

import (
	"context"
	"errors"
	"fmt"
	"strconv"

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
