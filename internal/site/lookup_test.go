package site

import (
	"errors"
	"fmt"
	"testing"

	"github.com/esacert/esacert/internal/domain"
)

// TestAsParam: a missing site, even wrapped, is the request's SiteId at
// fault (the Code InvalidParameter.SiteId); other errors and nil pass as
// they are.
func TestAsParam(t *testing.T) {
	var pe *domain.ParamError
	if err := AsParam(fmt.Errorf("insert: %w", ErrSiteNotFound)); !errors.As(err, &pe) || pe.Param != "SiteId" || !errors.Is(err, ErrSiteNotFound) {
		t.Errorf("AsParam(missing site) = %v, want a SiteId ParamError", err)
	}
	other := errors.New("disk full")
	if err := AsParam(other); err != other {
		t.Errorf("AsParam(other) = %v, want it unchanged", err)
	}
	if err := AsParam(nil); err != nil {
		t.Errorf("AsParam(nil) = %v", err)
	}
}
