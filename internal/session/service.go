package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/policy"
	"github.com/esacert/esacert/internal/role"
)

// Limits of AssumeRole.
const (
	MinDuration     = 900  // seconds
	DefaultDuration = 3600 // seconds
	MaxPolicySize   = 2048 // bytes of a session policy
)

// KeyAAD binds the sealed server key to its row (for a master key
// rotation, which reseals it: cert.Reseal).
func KeyAAD(id string) []byte { return []byte("sts-key:" + id) }

// serverKeyID is the id of the one server key.
const serverKeyID = "k1"

// Service issues and verifies STS sessions. Its fields are set once,
// before first use; after that it is safe for concurrent use.
type Service struct {
	// Roles finds the role assumed; Keys keeps the server key; both required.
	Roles RoleStore
	Keys  KeyStore
	// Sealer seals the server key; required.
	Sealer domain.Sealer
	// Account is the account id: roles' ARNs name it.
	Account string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Rand is the source of keys and ids; nil means crypto/rand.
	Rand io.Reader

	mu  sync.Mutex
	key []byte // the server key, once read
}

func (s *Service) now() time.Time { return domain.Now(s.Now) }

// serverKey returns the server key: read (and unsealed) once, made and
// recorded the first time any node needs it.
func (s *Service) serverKey(ctx context.Context) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.key != nil {
		return s.key, nil
	}
	if s.Sealer == nil {
		return nil, fmt.Errorf("sts server key: %w: no master key", domain.ErrKeyUnavailable)
	}
	fresh := make([]byte, 32)
	domain.Random(s.Rand, fresh)
	sealed, err := s.Sealer.Seal(fresh, KeyAAD(serverKeyID))
	if err != nil {
		return nil, fmt.Errorf("seal the sts server key: %w", err)
	}
	id, sealed, err := s.Keys.ClaimSTSKey(ctx, serverKeyID, sealed)
	if err != nil {
		return nil, fmt.Errorf("read the sts server key: %w", err)
	}
	key, err := s.Sealer.Open(sealed, KeyAAD(id))
	if err != nil {
		return nil, fmt.Errorf("open the sts server key: %w: %v", domain.ErrKeyUnavailable, err)
	}
	s.key = key
	return key, nil
}

// Caller is who asks to assume a role: Root for the account's root key,
// else the account and the ARNs the caller answers to (a user's, or a
// role session's role and assumed-role ARNs).
type Caller struct {
	Root    bool
	Account string
	ARNs    []string
}

// AssumeInput is what AssumeRole takes. Duration 0 means DefaultDuration;
// Policy "" means none; Context holds the request's condition keys for the
// trust policy (acs:SourceIp, …), as policy.Request.Context does.
type AssumeInput struct {
	RoleArn     string
	SessionName string
	Duration    int64
	Policy      string
	Context     map[string]string
}

// Credentials are a session's: the key id, the secret (shown once, in
// AssumeRole's answer, and never stored), the token and when it expires.
type Credentials struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
	Expiration      time.Time
	RoleID          string
	RoleName        string
	SessionName     string
}

var sessionName = regexp.MustCompile(`^[A-Za-z0-9._@-]{2,64}$`)

// roleName reads a role's name out of its ARN in this account:
// acs:ram::<account>:role/<name> (the region may be * or empty).
func (s *Service) roleName(arn string) (string, error) {
	if arn == "" {
		return "", domain.Missing("RoleArn")
	}
	parts := strings.SplitN(arn, ":", 5)
	if len(parts) != 5 || parts[0] != "acs" || parts[1] != "ram" || (parts[2] != "" && parts[2] != "*") ||
		!strings.HasPrefix(strings.ToLower(parts[4]), "role/") {
		return "", domain.Invalid("RoleArn", "must be acs:ram::<account id>:role/<role name>")
	}
	if parts[3] != s.Account {
		return "", role.ErrRoleNotFound // another account's role
	}
	return parts[4][len("role/"):], nil
}

// AssumeRole checks that caller may assume the role (not the root key;
// the role's trust policy names it) and issues credentials for at most the
// role's MaxSessionDuration, narrowed by the session policy when one is
// given. That the caller's own policies allow sts:AssumeRole on the role
// is the envelope's check, before this.
func (s *Service) AssumeRole(ctx context.Context, caller Caller, in AssumeInput) (Credentials, error) {
	name, err := s.roleName(in.RoleArn)
	if err != nil {
		return Credentials{}, err
	}
	if in.SessionName == "" {
		return Credentials{}, domain.Missing("RoleSessionName")
	}
	if !sessionName.MatchString(in.SessionName) {
		return Credentials{}, domain.Invalid("RoleSessionName", "must be 2 to 64 letters, digits and . @ - _")
	}
	if len(in.Policy) > MaxPolicySize {
		return Credentials{}, &domain.ParamError{Param: "Policy", Err: ErrPolicySize, Reason: fmt.Sprintf("must be at most %d bytes", MaxPolicySize)}
	}
	if in.Policy != "" {
		if _, err := policy.Parse(in.Policy); err != nil {
			return Credentials{}, &domain.ParamError{Param: "Policy", Err: ErrPolicyGrammar,
				Reason: strings.TrimPrefix(err.Error(), policy.ErrMalformed.Error()+": ")}
		}
	}
	if caller.Root {
		return Credentials{}, ErrRootCaller
	}
	r, err := s.Roles.Role(ctx, name)
	if err != nil {
		return Credentials{}, err
	}
	duration := in.Duration
	if duration == 0 {
		duration = DefaultDuration
	}
	if duration < MinDuration || duration > int64(r.MaxSessionDuration) {
		return Credentials{}, domain.Invalid("DurationSeconds", fmt.Sprintf("must be between %d and the role's MaxSessionDuration, %d", MinDuration, r.MaxSessionDuration))
	}
	trust, err := policy.ParseTrust(r.TrustDocument)
	if err != nil {
		return Credentials{}, fmt.Errorf("%w: the role's trust policy does not parse: %v", ErrNotTrusted, err)
	}
	req := policy.Request{Action: "sts:AssumeRole", Resource: r.ARN(s.Account), Context: in.Context}
	if trust.Evaluate(req, policy.Caller{Account: caller.Account, ARNs: caller.ARNs}) != policy.Allowed {
		return Credentials{}, ErrNotTrusted
	}
	key, err := s.serverKey(ctx)
	if err != nil {
		return Credentials{}, err
	}
	now := s.now()
	c := claims{Key: "STS." + randomText(s.Rand, 24), ServerKey: serverKeyID, RoleID: r.ID, RoleName: r.Name,
		SessionName: in.SessionName, Issued: now.Unix(), Expires: now.Unix() + duration, Policy: in.Policy}
	if len(caller.ARNs) > 0 {
		c.Caller = caller.ARNs[0]
	}
	token, sum, err := encodeToken(key, c)
	if err != nil {
		return Credentials{}, err
	}
	return Credentials{AccessKeyID: c.Key, AccessKeySecret: deriveSecret(key, c.Key, sum), SecurityToken: token,
		Expiration: time.Unix(c.Expires, 0).UTC(), RoleID: r.ID, RoleName: r.Name, SessionName: c.SessionName}, nil
}

// Session is a verified session, as Open returns it.
type Session struct {
	AccessKeyID string
	RoleID      string
	RoleName    string
	SessionName string
	Expires     time.Time
	Policy      string // the session policy, "" for none
}

// IsKey reports whether keyID is an STS key id (STS.…).
func IsKey(keyID string) bool { return strings.HasPrefix(keyID, "STS.") }

// Open verifies the token sent with the STS key keyID and returns the
// session and its secret: ErrTokenMissing without a token,
// ErrTokenMalformed for one this service did not issue (or that was
// changed), ErrTokenMismatch for another key's, ErrTokenExpired after its
// expiry, ErrRoleGone when its role was deleted.
func (s *Service) Open(ctx context.Context, keyID, token string) (Session, string, error) {
	if token == "" {
		return Session{}, "", ErrTokenMissing
	}
	key, err := s.serverKey(ctx)
	if err != nil {
		return Session{}, "", err
	}
	c, sum, err := decodeToken(key, token)
	if err != nil {
		return Session{}, "", err
	}
	if c.ServerKey != serverKeyID {
		return Session{}, "", ErrTokenMalformed
	}
	if c.Key != keyID {
		return Session{}, "", ErrTokenMismatch
	}
	if c.expired(s.now()) {
		return Session{}, "", ErrTokenExpired
	}
	r, err := s.Roles.RoleByID(ctx, c.RoleID)
	if errors.Is(err, role.ErrRoleNotFound) {
		return Session{}, "", ErrRoleGone
	}
	if err != nil {
		return Session{}, "", err
	}
	return Session{AccessKeyID: c.Key, RoleID: r.ID, RoleName: r.Name, SessionName: c.SessionName,
		Expires: time.Unix(c.Expires, 0).UTC(), Policy: c.Policy}, deriveSecret(key, c.Key, sum), nil
}

// randomText draws n letters and digits.
func randomText(r io.Reader, n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	domain.Random(r, b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
