package identity

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/policy"
	"github.com/esacert/esacert/internal/rampolicy"
	"github.com/esacert/esacert/internal/session"
)

// DefaultPoll is how often Follow reads the RAM revision when it is not
// woken sooner.
const DefaultPoll = 250 * time.Millisecond

// maxCached bounds the cache: past it, the cache starts empty again (a
// flood of unknown key ids costs database reads, not memory).
const maxCached = 100_000

// Resolver finds who signs with an access key, and caches what it found
// per node: an identity stays cached until the RAM revision moves (Follow
// watches it), so a key disabled or a policy detached on any node is in
// force here within Follow's poll. It is safe for concurrent use once its
// fields are set.
type Resolver struct {
	// Store reads keys, grants and the revision; required.
	Store Store
	// Sealer opens the keys' secrets; required.
	Sealer domain.Sealer
	// Account is the account id every identity belongs to.
	Account string
	// Sessions verifies STS credentials (keys STS.…); nil refuses them as
	// unknown keys.
	Sessions Sessions
	// Now returns the current time (sessions expire); nil means time.Now.
	Now func() time.Time

	mu       sync.RWMutex
	gen      uint64                    // bumped by every clear
	rev      int64                     // the revision the cache reflects (after Follow's first read)
	cached   map[string]cachedIdentity // by access key id
	compiled map[string]*policy.Policy // by document text
}

type cachedIdentity struct {
	id  *Identity
	err error // ErrKeyNotFound or ErrKeyInactive: cached too
}

// Sessions verifies STS credentials (session.Service implements it).
type Sessions interface {
	// Open returns the session of keyID and token and its secret, or the
	// session package's errors (token missing, malformed, expired, of
	// another key; role gone).
	Open(ctx context.Context, keyID, token string) (session.Session, string, error)
}

// Identify returns the identity that signs with the RAM user's access key
// keyID, with the key's secret and the user's policies: ErrKeyNotFound
// for no such key, ErrKeyInactive for a disabled one (either checked only
// after the caller knows the key id is not the root's). token is an STS
// security token; keys that are not STS keys ignore it.
func (r *Resolver) Identify(ctx context.Context, keyID, token string) (*Identity, error) {
	sts := session.IsKey(keyID)
	cacheKey := keyID
	if sts {
		cacheKey = keyID + "\x00" + token // a session is its key and its token
	}
	r.mu.RLock()
	c, ok := r.cached[cacheKey]
	gen := r.gen
	r.mu.RUnlock()
	if ok {
		if c.id != nil && c.id.Kind == Session && !domain.Now(r.Now).Before(c.id.Expires) {
			return nil, session.ErrTokenExpired
		}
		return c.id, c.err
	}
	var (
		id  *Identity
		err error
	)
	if sts {
		id, err = r.loadSession(ctx, keyID, token)
	} else {
		id, err = r.load(ctx, keyID)
	}
	if err != nil && !errors.Is(err, ErrKeyNotFound) && !errors.Is(err, ErrKeyInactive) {
		return nil, err // a failure to read, or a bad token, is not cached
	}
	r.mu.Lock()
	if r.gen == gen { // nothing changed while we read
		if r.cached == nil || len(r.cached) >= maxCached {
			r.cached = map[string]cachedIdentity{}
		}
		r.cached[cacheKey] = cachedIdentity{id, err}
	}
	r.mu.Unlock()
	return id, err
}

// loadSession verifies STS credentials and reads their role's policies.
func (r *Resolver) loadSession(ctx context.Context, keyID, token string) (*Identity, error) {
	if r.Sessions == nil {
		return nil, ErrKeyNotFound
	}
	s, secret, err := r.Sessions.Open(ctx, keyID, token)
	if errors.Is(err, session.ErrRoleGone) {
		return nil, fmt.Errorf("%w: %w", ErrKeyNotFound, err)
	}
	if err != nil {
		return nil, err
	}
	policies, err := r.policies(ctx, "role", s.RoleID)
	if err != nil {
		return nil, err
	}
	id := &Identity{Kind: Session, Account: r.Account, KeyID: keyID, Secret: secret, RoleID: s.RoleID, RoleName: s.RoleName,
		SessionName: s.SessionName, Expires: s.Expires, policies: policy.NewSet(policies...)}
	if s.Policy != "" {
		if id.session = r.compile(s.Policy); id.session == nil {
			id.session = denyAll // checked when issued; never widen on a surprise
		}
	}
	return id, nil
}

// denyAll is a session policy that allows nothing.
var denyAll = policy.MustParse(`{"Version":"1","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`)

// load reads a user's key and the user's policies.
func (r *Resolver) load(ctx context.Context, keyID string) (*Identity, error) {
	k, err := r.Store.AccessKey(ctx, keyID)
	if errors.Is(err, accesskey.ErrKeyNotFound) {
		return nil, ErrKeyNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read access key: %w", err)
	}
	if k.Status != accesskey.StatusActive {
		return nil, ErrKeyInactive
	}
	if r.Sealer == nil {
		return nil, fmt.Errorf("open access key %s: %w: no master key", keyID, domain.ErrKeyUnavailable)
	}
	secret, err := r.Sealer.Open(k.SealedSecret, accesskey.SecretAAD(k.ID))
	if err != nil {
		return nil, fmt.Errorf("open access key %s: %w: %v", keyID, domain.ErrKeyUnavailable, err)
	}
	policies, err := r.policies(ctx, "user", k.UserID)
	if err != nil {
		return nil, err
	}
	return &Identity{Kind: User, Account: r.Account, KeyID: k.ID, Secret: string(secret), UserID: k.UserID,
		UserName: k.UserName, policies: policy.NewSet(policies...)}, nil
}

// policies reads and compiles the grants of a user or role. A stored
// document that does not parse any more is left out (it grants nothing).
func (r *Resolver) policies(ctx context.Context, kind, id string) ([]*policy.Policy, error) {
	grants, err := r.Store.Grants(ctx, kind, id)
	if err != nil {
		return nil, fmt.Errorf("read the policies of %s %s: %w", kind, id, err)
	}
	out := make([]*policy.Policy, 0, len(grants))
	for _, g := range grants {
		if g.PolicyType == rampolicy.TypeSystem {
			if p := rampolicy.System(g.PolicyName); p != nil {
				out = append(out, p)
			}
			continue
		}
		if p := r.compile(g.Document); p != nil {
			out = append(out, p)
		}
	}
	return out, nil
}

// compile parses a document once per node (until the next clear).
func (r *Resolver) compile(doc string) *policy.Policy {
	r.mu.RLock()
	p, ok := r.compiled[doc]
	r.mu.RUnlock()
	if ok {
		return p
	}
	p, err := policy.Parse(doc)
	if err != nil {
		return nil
	}
	r.mu.Lock()
	if r.compiled == nil || len(r.compiled) >= maxCached {
		r.compiled = map[string]*policy.Policy{}
	}
	r.compiled[doc] = p
	r.mu.Unlock()
	return p
}

// Refresh reads the RAM revision and empties the cache when it moved.
func (r *Resolver) Refresh(ctx context.Context) error {
	rev, err := r.Store.RAMRevision(ctx)
	if err != nil {
		return err
	}
	r.mu.Lock()
	if rev != r.rev {
		r.rev, r.gen = rev, r.gen+1
		r.cached, r.compiled = nil, nil
	}
	r.mu.Unlock()
	return nil
}

// Follow keeps the cache in step with the database until ctx ends: it
// refreshes whenever wake signals (the store's change notifications) and
// at least every poll (DefaultPoll when 0), so that a change made on any
// node is in force here within poll. A failed read empties the cache (it
// cannot tell what changed) and is reported to fail, when not nil.
func (r *Resolver) Follow(ctx context.Context, wake <-chan struct{}, poll time.Duration, fail func(error)) {
	if poll <= 0 {
		poll = DefaultPoll
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if err := r.Refresh(ctx); err != nil && ctx.Err() == nil {
			r.mu.Lock()
			r.gen++
			r.cached, r.compiled = nil, nil
			r.mu.Unlock()
			if fail != nil {
				fail(err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-t.C:
		}
	}
}
