package cert

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/esacert/esacert/internal/certcheck"
)

// RenewOptions tune RenewDue.
type RenewOptions struct {
	Owner string        // who leases the work: a node's unique name
	Lease time.Duration // how long a claim holds; default 10 minutes
	Batch int           // certificates per call; default 10
	// KeyType is the key of new certificates: "ecdsa-p256" (default),
	// "ecdsa-p384" or "rsa-2048".
	KeyType string
	// RetryBase is the first wait after a failure, doubled after each
	// further one up to 6 hours; default 1 minute.
	RetryBase time.Duration
	// RSATwin issues an RSA twin beside each ECDSA certificate, for clients
	// that cannot use ECDSA.
	RSATwin bool
	// ARIInterval is how often an issued certificate's ACME Renewal
	// Information is asked again; default 6 hours.
	ARIInterval time.Duration
	// Log, when set, gets one line per issuance attempt: a failure (at Warn)
	// with its ApplyCode, why, the attempt's number and when it is retried,
	// or a success (at Info) with when it is renewed. nil logs nothing.
	Log *slog.Logger
	// Observer, when set, is told the outcome of every issuance attempt
	// (not of the checks of ACME Renewal Information). nil tells no one.
	Observer AttemptObserver
}

// RunRenewer works on the free certificates that are due until ctx ends:
// RenewDue again for as long as it finds work, then again every poll, or
// at once when Kick says there is new work. A failure of RenewDue is
// logged on opt.Log (at Warn) and tried again at the next turn.
func (s *Service) RunRenewer(ctx context.Context, opt RenewOptions, poll time.Duration) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		for {
			worked, err := s.RenewDue(ctx, opt)
			if err != nil && ctx.Err() == nil && opt.Log != nil {
				opt.Log.Warn("renewer", "error", err)
			}
			if worked == 0 || err != nil || ctx.Err() != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.Kick:
		}
	}
}

// RenewDue issues the free certificates that are due: new ones, ones whose
// last attempt failed and whose retry time has come, and issued ones whose
// renewal time has come (a third of their lifetime left). It returns how
// many it worked on. A failure keeps the certificate being served as it was,
// records why, and backs off exponentially (1 minute doubling up to 6 hours,
// or the CA's Retry-After).
func (s *Service) RenewDue(ctx context.Context, opt RenewOptions) (int, error) {
	if s.Issuer == nil || s.Frees == nil {
		return 0, nil
	}
	if opt.Lease == 0 {
		opt.Lease = 10 * time.Minute
	}
	if opt.Batch == 0 {
		opt.Batch = 10
	}
	now := s.now()
	due, err := s.Frees.ClaimDue(ctx, now, opt.Owner, now.Add(opt.Lease), opt.Batch)
	if err != nil {
		return 0, err
	}
	for _, c := range due {
		s.renewOne(ctx, c, opt)
	}
	return len(due), nil
}

func (s *Service) renewOne(ctx context.Context, c Certificate, opt RenewOptions) {
	if c.Issued() && c.Free.Status == "" && c.Free.Next.After(s.now()) {
		s.checkARI(ctx, c, opt) // claimed for its ARI check, not due yet
		return
	}
	start := s.now()
	renewal := c.Issued()
	key, keyPEM, err := newKey(opt.KeyType)
	if err == nil {
		var chain []byte
		chain, err = s.Issuer.Issue(ctx, c.Free.CA, []string{c.Name}, key)
		if err == nil && !(opt.RSATwin && !strings.HasPrefix(opt.KeyType, "rsa")) {
			c.Twin = &Twin{} // no twin wanted (any more): drop the one stored
		} else if err == nil {
			c.Twin, err = s.issueTwin(ctx, c)
			if err != nil && s.Log != nil {
				// The ECDSA certificate is stored all the same; the twin
				// stored before, if any, keeps serving old clients.
				s.Log("issue the RSA twin", c.ID, err)
			}
			err = nil
		}
		if err == nil {
			err = s.storeIssued(ctx, &c, chain, keyPEM, opt)
			if err == nil {
				if opt.Log != nil {
					opt.Log.Info("issued a free certificate", "certificate", c.ID, "name", c.Name, "ca", c.Free.CA,
						"not_after", c.Info.NotAfter, "renew_at", c.Free.Next)
				}
				if opt.Observer != nil {
					opt.Observer.IssuanceAttempt(Attempt{CA: c.Free.CA, Renewal: renewal, Took: s.now().Sub(start)})
				}
				return
			}
		}
	}
	now := s.now()
	var ie *IssueError
	if !errors.As(err, &ie) {
		ie = &IssueError{Err: ErrIssuance, Code: 1, Message: "esacert could not complete the certificate: " + err.Error()}
	}
	c.Free.Status, c.Free.Code, c.Free.Message = StatusApplyFailed, ie.Code, ie.Message
	c.Free.Attempts++
	if opt.Observer != nil {
		opt.Observer.IssuanceAttempt(Attempt{CA: c.Free.CA, Renewal: renewal, Code: ie.Code, Took: now.Sub(start)})
	}
	base := opt.RetryBase
	if base <= 0 {
		base = time.Minute
	}
	wait := base << min(c.Free.Attempts-1, 16)
	if wait > 6*time.Hour {
		wait = 6 * time.Hour
	}
	if ie.RetryAfter > wait {
		wait = ie.RetryAfter
	}
	c.Free.Next = now.Add(wait)
	c.Free.ARICheck = time.Time{} // asked again after the next success
	c.Updated = now
	if opt.Log != nil {
		opt.Log.Warn("free certificate issuance failed", "certificate", c.ID, "name", c.Name, "ca", c.Free.CA,
			"attempt", c.Free.Attempts, "code", ie.Code, "message", ie.Message,
			"retry_at", c.Free.Next, "retry_in", wait.String())
	}
	c.ChainPEM = "" // keep the content as it is
	if err := s.Frees.FinishFree(ctx, c, opt.Owner); err != nil && !errors.Is(err, ErrCertNotFound) && s.Log != nil {
		s.Log("record a failed issuance", c.ID, err)
	}
}

func (o RenewOptions) ariInterval() time.Duration {
	if o.ARIInterval > 0 {
		return o.ARIInterval
	}
	return 6 * time.Hour
}

// checkARI asks the CA's ACME Renewal Information again whether issued
// certificate c should be renewed sooner than planned (the CA moves the
// window earlier when, for example, it must revoke), and schedules the
// next check.
func (s *Service) checkARI(ctx context.Context, c Certificate, opt RenewOptions) {
	now := s.now()
	if leaf, err := firstCertificate(c.ChainPEM); err == nil {
		if ari, ok := s.Issuer.SuggestedRenewal(ctx, c.Free.CA, leaf); ok && ari.Before(c.Free.Next) {
			c.Free.Next = ari
			if c.Free.Next.Before(now) {
				c.Free.Next = now
			}
		}
	}
	c.Free.ARICheck = now.Add(opt.ariInterval())
	c.ChainPEM = "" // the state alone
	if err := s.Frees.FinishFree(ctx, c, opt.Owner); err != nil && !errors.Is(err, ErrCertNotFound) && s.Log != nil {
		s.Log("record an ACME Renewal Information check", c.ID, err)
	}
}

// firstCertificate parses the first certificate of a PEM chain.
func firstCertificate(chainPEM string) (*x509.Certificate, error) {
	b, _ := pem.Decode([]byte(chainPEM))
	if b == nil {
		return nil, errors.New("no PEM block")
	}
	return x509.ParseCertificate(b.Bytes)
}

// issueTwin issues the RSA twin of c.
func (s *Service) issueTwin(ctx context.Context, c Certificate) (*Twin, error) {
	key, keyPEM, err := newKey("rsa-2048")
	if err != nil {
		return nil, err
	}
	chainPEM, err := s.Issuer.Issue(ctx, c.Free.CA, []string{c.Name}, key)
	if err != nil {
		return nil, err
	}
	parsed, err := parseIgnoringDates(string(chainPEM), string(keyPEM))
	if err != nil {
		return nil, fmt.Errorf("the issued RSA certificate does not check out: %w", err)
	}
	sealed, err := sealValidKey(s.Sealer, TwinID(c.ID), keyPEM)
	if err != nil {
		return nil, err
	}
	return &Twin{ChainPEM: chainPEM2(parsed.Chain), SealedKey: sealed, NotAfter: parsed.Info.NotAfter}, nil
}

// storeIssued checks an issued chain and stores it with its sealed key.
func (s *Service) storeIssued(ctx context.Context, c *Certificate, chainPEM, keyPEM []byte, opt RenewOptions) error {
	now := s.now()
	// Dates are not held against a fresh certificate beyond expiry: the
	// CA's clock may run a little ahead of ours.
	parsed, err := parseIgnoringDates(string(chainPEM), string(keyPEM))
	if err == nil && !now.Before(parsed.Info.NotAfter) {
		err = certcheck.ErrExpired
	}
	if err != nil {
		return fmt.Errorf("the issued certificate does not check out: %w", err)
	}
	info := parsed.Info
	info.SANs = []string{c.Name} // SAN reads back as applied for, as Terraform's domains needs
	c.CertPEM, c.ChainPEM, c.Info = string(chainPEM), chainPEM2(parsed.Chain), info
	if c.SealedKey, err = sealValidKey(s.Sealer, c.ID, keyPEM); err != nil {
		return err
	}
	life := info.NotAfter.Sub(info.NotBefore)
	renewAt := info.NotAfter.Add(-life / 3) // a third of the lifetime left
	var ariCheck time.Time
	if ari, ok := s.Issuer.SuggestedRenewal(ctx, c.Free.CA, parsed.Leaf); ok {
		if ari.Before(renewAt) {
			renewAt = ari // the CA wants it sooner (ACME Renewal Information)
		}
		ariCheck = now.Add(opt.ariInterval())
	}
	if !renewAt.After(now) {
		renewAt = now.Add(info.NotAfter.Sub(now) / 2) // a short-lived or back-dated one: halfway
	}
	c.Free = FreeState{CA: c.Free.CA, Next: renewAt, ARICheck: ariCheck}
	c.Updated = now
	return s.Frees.FinishFree(ctx, *c, opt.Owner)
}

func chainPEM2(chain []*x509.Certificate) string { return chainPEM(chain) }

// newKey makes the private key of a new free certificate.
func newKey(kind string) (crypto.Signer, []byte, error) {
	var (
		key crypto.Signer
		err error
	)
	switch kind {
	case "", "ecdsa-p256":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ecdsa-p384":
		key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "rsa-2048":
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		return nil, nil, fmt.Errorf("unknown key type %q", kind)
	}
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}
