package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/esacert/esacert/internal/audit"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/identity"
	"github.com/esacert/esacert/internal/redact"
)

// ActionTrailVersion is the version of ActionTrail's API, whose
// LookupEvents reads esacert's audit trail.
const ActionTrailVersion = "2020-07-06"

// AuditStore keeps the audit trail (sqlstore.Store implements it; it also
// writes a request's event with its first committed change, see
// audit.With).
type AuditStore interface {
	// RecordEvent writes an event no transaction of its request wrote.
	RecordEvent(ctx context.Context, ev *audit.Event) error
	// Events returns the events f selects and the next page's token.
	Events(ctx context.Context, f audit.Filter) ([]*audit.Event, string, error)
}

// services names the product of each API version, as events show it.
var services = map[string]string{ESAVersion: "esa", CASVersion: "cas", RAMVersion: "ram", STSVersion: "sts",
	ActionTrailVersion: "actiontrail", BSSVersion: "bssopenapi"}

// failedAuthBudget bounds how many failed authentications a node records
// per second (with a burst), so that a flood of bad requests costs the
// database little; the rest are counted in the log only.
type failedAuthBudget struct {
	mu      sync.Mutex
	tokens  float64
	last    time.Time
	dropped int
}

const (
	failedAuthRate  = 20.0 // events a second
	failedAuthBurst = 100.0
)

func (b *failedAuthBudget) take(now time.Time) (ok bool, dropped int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.last.IsZero() {
		b.tokens = failedAuthBurst
	} else {
		b.tokens = min(failedAuthBurst, b.tokens+now.Sub(b.last).Seconds()*failedAuthRate)
	}
	b.last = now
	if b.tokens < 1 {
		b.dropped++
		return false, 0
	}
	b.tokens--
	dropped, b.dropped = b.dropped, 0
	return true, dropped
}

// newAuditEvent starts the event of an authenticated request, naming who
// made it: the root key, a RAM user or a role session.
func (s *Server) newAuditEvent(req *request, requestID string) *audit.Event {
	ev := &audit.Event{
		ID:        requestID,
		Time:      s.now(),
		Name:      req.action,
		Service:   services[req.version],
		Version:   req.version,
		Write:     !audit.IsRead(req.action),
		Principal: auditPrincipal(req.caller),
		SourceIP:  sourceIP(req.r.RemoteAddr),
		UserAgent: redact.Clean(req.r.UserAgent(), 256),
		Secure:    req.r.TLS != nil,
		Params:    audit.Params(req.params.v),
	}
	if site := req.params.str("SiteId"); site != "" && req.version == ESAVersion {
		ev.Resource, ev.ResourceType = redact.Clean(canonicalID(site), 32), "ACS::ESA::Site"
	}
	return ev
}

// auditPrincipal is who made a request, as an event names it.
func auditPrincipal(c *identity.Identity) audit.Principal {
	switch c.Kind {
	case identity.User:
		return audit.Principal{Type: audit.PrincipalUser, PrincipalID: c.UserID, AccountID: c.Account, AccessKeyID: c.KeyID,
			UserName: c.UserName}
	case identity.Session:
		return audit.Principal{Type: audit.PrincipalAssumedRole, PrincipalID: c.RoleID + ":" + c.SessionName, AccountID: c.Account,
			AccessKeyID: c.KeyID, UserName: c.RoleName + ":" + c.SessionName}
	}
	return audit.Principal{Type: audit.PrincipalRoot, PrincipalID: c.Account, AccountID: c.Account, UserName: "root", AccessKeyID: c.KeyID}
}

// failedAuthEvent is the event of a request whose authentication failed:
// only what the server recognises is kept, bounded (see logFields).
func (s *Server) failedAuthEvent(le *event, r *http.Request) *audit.Event {
	action, version, _, keyID := le.logFields()
	return &audit.Event{
		ID:        le.requestID,
		Time:      s.now(),
		Name:      action,
		Service:   services[le.version],
		Version:   version,
		Write:     !audit.IsRead(le.action),
		Principal: audit.Principal{Type: audit.PrincipalUnknown, AccessKeyID: keyID},
		SourceIP:  sourceIP(r.RemoteAddr),
		UserAgent: redact.Clean(r.UserAgent(), 256),
		Secure:    r.TLS != nil,
	}
}

func sourceIP(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return redact.Clean(remote, 64)
	}
	return host
}

// lookupEvents answers ActionTrail's LookupEvents from the audit trail.
func (s *Server) lookupEvents(ctx context.Context, p *params) (any, error) {
	if s.Audit == nil {
		return nil, domain.Invalid("Action", "the audit trail is not kept on this node")
	}
	now := s.now()
	f := audit.Filter{End: now, Start: now.Add(-7 * 24 * time.Hour), Attributes: map[string]string{}}
	for _, t := range []struct {
		name string
		to   *time.Time
	}{{"StartTime", &f.Start}, {"EndTime", &f.End}} {
		if v := p.str(t.name); v != "" {
			tm, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return nil, domain.Invalid(t.name, "must be a UTC time such as 2026-01-02T15:04:05Z")
			}
			*t.to = tm
		}
	}
	if !f.Start.Before(f.End) {
		return nil, domain.Invalid("StartTime", "must be before EndTime")
	}
	for i := 1; ; i++ {
		prefix := "LookupAttribute." + strconv.Itoa(i) + "."
		k, v := p.str(prefix+"Key"), p.str(prefix+"Value")
		if k == "" && v == "" {
			if i > 10 {
				break
			}
			continue
		}
		if !slices.Contains(audit.LookupKeys, k) {
			return nil, domain.Invalid(prefix+"Key", "must be one of "+strings.Join(audit.LookupKeys, ", "))
		}
		f.Attributes[k] = v
		if len(f.Attributes) > 2 {
			return nil, domain.Invalid("LookupAttribute", "at most two attributes")
		}
	}
	f.Limit = 20
	if v := p.str("MaxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 50 {
			return nil, domain.Invalid("MaxResults", "must be a number from 0 to 50")
		}
		if n > 0 {
			f.Limit = n
		}
	}
	switch d := strings.ToUpper(p.str("Direction")); d {
	case "", "BACKWARD":
	case "FORWARD":
		f.Forward = true
	default:
		return nil, domain.Invalid("Direction", "must be FORWARD or BACKWARD")
	}
	f.After = p.str("NextToken")
	events, next, err := s.Audit.Events(ctx, f)
	if err != nil {
		if errors.Is(err, audit.ErrBadToken) {
			return nil, domain.Invalid("NextToken", "is not a token a previous page returned")
		}
		return nil, err
	}
	out := make([]map[string]any, len(events))
	for i, e := range events {
		out[i] = e.ActionTrail()
	}
	type answer struct {
		StartTime string
		EndTime   string
		NextToken string `json:",omitempty"`
		Events    []map[string]any
	}
	return answer{StartTime: f.Start.UTC().Format(time.RFC3339), EndTime: f.End.UTC().Format(time.RFC3339), NextToken: next, Events: out}, nil
}
