package edge

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/originauth"
	"github.com/esacert/esacert/internal/record"
)

// A proxied CNAME record to a private bucket (AuthConf private for S3,
// private_cross_account for OSS) has the edge sign every request it
// forwards to the bucket with the record's keys (internal/originauth). The
// index keeps the keys sealed, as the store does (and so does the
// snapshot); a route opens them at its first request and keeps the signer
// while it is in the index. A paused site's requests go to the origin as
// they came, unsigned, as its visitors' would without the edge.

// RouteAuth is a record's origin authentication as the edge keeps it.
type RouteAuth struct {
	Type    string // the record's AuthConf.AuthType: private or private_cross_account; "" for none
	Version string // S3: the signature version, v2 or v4 ("": v4)
	Region  string // S3 v4: the bucket's region
	Record  int64  // the record's id, which its sealed keys are bound to
	Sealed  []byte // the record's AccessKey and SecretKey, sealed under the master key (record.SealedSecrets)
}

// routeAuth is a route's RouteAuth, with its signer once made.
type routeAuth struct {
	RouteAuth
	made atomic.Pointer[originauth.Signer]
}

// signer returns the route's signer, opening its keys with sealer the
// first time.
func (a *routeAuth) signer(sealer domain.Sealer) (*originauth.Signer, error) {
	if s := a.made.Load(); s != nil {
		return s, nil
	}
	ak, sk, err := record.OpenSecrets(sealer, a.Record, a.Sealed)
	if err != nil {
		return nil, err
	}
	s, err := originauth.New(a.Type, a.Version, a.Region, ak, sk)
	if err != nil {
		return nil, err
	}
	a.made.Store(s)
	return s, nil
}

// sign signs r, about to go to the origin, with the signer made (by
// proxy.serve, before the request is forwarded).
func (a *routeAuth) sign(r *http.Request) {
	if s := a.made.Load(); s != nil {
		s.Sign(r, time.Now())
	}
}

// authOf is the route's RouteAuth (zero for none), as the snapshot keeps it.
func (r *route) authOf() RouteAuth {
	if r.auth == nil {
		return RouteAuth{}
	}
	return r.auth.RouteAuth
}
