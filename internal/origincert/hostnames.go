package origincert

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/site"
)

// MaxHostnames bounds the hostnames of one origin client certificate.
const MaxHostnames = 100

// SetClientHostnames sets the hostnames of the site an origin client
// certificate is presented for: each the site's name or a name under it
// (a "*." wildcard counts), compared without case, each once. An empty list
// clears them. It returns the site and the names as kept (lower case, no
// trailing dot, in the order given, never nil).
func (s *Service) SetClientHostnames(ctx context.Context, siteID int64, id string, hostnames []string) (site.Site, []string, error) {
	if len(hostnames) > MaxHostnames {
		return site.Site{}, nil, domain.Invalid("Hostnames", fmt.Sprintf("holds at most %d names", MaxHostnames))
	}
	st, err := site.Lookup(ctx, s.Sites, siteID)
	if err != nil {
		return site.Site{}, nil, err
	}
	names := []string{}
	for _, h := range hostnames {
		n := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
		if !certcheck.UnderSite(n, st.Name) {
			return site.Site{}, nil, domain.Invalid("Hostnames", "each name must be the site's name or a name under it")
		}
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	if err := s.Clients.SetOriginClientHostnames(ctx, st.ID, id, names, s.Time()); err != nil {
		return site.Site{}, nil, err
	}
	return st, names, nil
}
