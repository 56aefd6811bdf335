package edge

import (
	"net/http"

	"github.com/esacert/esacert/internal/origin"
)

// origins returns the dialer of the origins: Edge.Origins, or the default
// policy through the system's resolver.
func (e *Edge) origins() *origin.Dialer {
	if e.Origins != nil {
		return e.Origins
	}
	return &origin.Dialer{}
}

// refuse answers a request whose origin the origin policy refuses: 502 with
// a page that says the origin is not allowed. The reason (the address and
// its range) goes to the log, not to the visitor.
func (p *proxy) refuse(w http.ResponseWriter, r *http.Request, err error) {
	p.log.Warn("origin not allowed", "host", hostOf(r), "status", http.StatusBadGateway, "reason", err)
	page(w, http.StatusBadGateway, "The origin of this site is not allowed: the edge does not connect to that address.")
}
