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
// private_cross_account for OSS) has the edge sign the reads (GET, HEAD)
// it forwards to the bucket with the record's keys (internal/originauth,
// which also says what it drops first); other requests go as the visitor
// sent them. The index keeps the keys sealed, as the store does (and so
// does the snapshot); a route opens them at its first read and keeps the
// signer, or the failure (logged once), while it is in the index. A paused
// site's requests go to the origin as they came, unsigned, as its
// visitors' would without the edge.

// RouteAuth is a record's origin authentication as the edge keeps it.
type RouteAuth struct {
	Type    string // the record's AuthConf.AuthType: private or private_cross_account; "" for none
	Version string // S3: the signature version, v2 or v4 ("": v4)
	Region  string // S3 v4: the bucket's region
	Bucket  string // OSS: the bucket the record's value names, which is signed for
	Record  int64  // the record's id, which its sealed keys are bound to
	Sealed  []byte // the record's AccessKey and SecretKey, sealed under the master key (record.SealedSecrets)
}

// routeAuth is a route's RouteAuth, with its signer once made.
type routeAuth struct {
	RouteAuth
	made   atomic.Pointer[originauth.Signer]
	failed atomic.Pointer[error] // why the signer cannot be made, once known
}

// ready makes the route's signer, opening its keys with sealer, unless
// made already; first reports an error the first time it is met (to be
// logged once).
func (a *routeAuth) ready(sealer domain.Sealer) (first bool, err error) {
	if a.made.Load() != nil {
		return false, nil
	}
	if e := a.failed.Load(); e != nil {
		return false, *e
	}
	ak, sk, err := record.OpenSecrets(sealer, a.Record, a.Sealed)
	var s *originauth.Signer
	if err == nil {
		s, err = originauth.New(a.Type, a.Version, a.Region, ak, sk)
	}
	if err != nil {
		return a.failed.CompareAndSwap(nil, &err), err
	}
	a.made.Store(s.ForBucket(a.Bucket))
	return false, nil
}

// sign signs r, about to go to the origin, with the signer made (ready,
// called by proxy.serve before the request is forwarded).
func (a *routeAuth) sign(r *http.Request) {
	if s := a.made.Load(); s != nil {
		s.Sign(r, time.Now())
	}
}

// asRoute is the route of name as the snapshot keeps it (routesOf makes
// it again).
func (r *route) asRoute(name string) Route {
	rt := Route{Name: name, Origin: r.origin, OriginHost: r.originHost}
	if r.auth != nil {
		rt.Auth = r.auth.RouteAuth
	}
	return rt
}
