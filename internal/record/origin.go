package record

import (
	"net/netip"

	"github.com/esacert/esacert/internal/domain"
)

// checkOrigins applies the origin policy (Service.Origins) to the origins
// of a proxied record when it is written: every IP address of an A/AAAA
// record, and a CNAME target that names this machine (localhost). Other
// names are checked by the edge after DNS, each time it connects. A refusal
// is a ParamError naming Data, whose reason names the range and the setting
// that allows it.
//
// Records that are not proxied are DNS data only: the edge never connects
// to them, so their values are not checked (a private address in a DNS
// answer is the zone owner's business, as at any DNS host).
func (s *Service) checkOrigins(r *Record) error {
	if !r.Proxied || !Proxiable(r.Type) {
		return nil
	}
	hosts, _ := r.Origins()
	for _, h := range hosts {
		var err error
		if a, perr := netip.ParseAddr(h); perr == nil {
			err = s.Origins.CheckAddr(a)
		} else {
			err = s.Origins.CheckName(h)
		}
		if err != nil {
			return domain.Invalid("Data", "Value: "+err.Error())
		}
	}
	return nil
}
