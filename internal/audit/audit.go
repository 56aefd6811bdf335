package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/esacert/esacert/internal/redact"
)

// Principal types, as ActionTrail names them in userIdentity.type.
const (
	PrincipalRoot        = "root-account"
	PrincipalUser        = "ram-user"
	PrincipalAssumedRole = "assumed-role"
	// PrincipalUnknown is the caller of a request whose authentication
	// failed: its access key id is what it claimed.
	PrincipalUnknown = "unknown"
)

// Principal is who made a request.
type Principal struct {
	Type        string // one of the Principal… constants
	PrincipalID string // a user's id, a role session's RoleId:session, the account id for root
	AccountID   string
	AccessKeyID string
	UserName    string // a user's name, a role session's role:session; "root" for the account
}

// Event is one entry of the audit trail. Fields are set by the envelope
// before the action runs, except ErrorCode and ErrorMessage.
type Event struct {
	ID        string // the request id
	Time      time.Time
	Name      string // the action, such as SetCertificate
	Service   string // the product: esa, cas, ram, sts, actiontrail
	Version   string // the API version
	Write     bool   // the action changes state (EventRW Write), else Read
	Principal Principal
	SourceIP  string
	UserAgent string
	Secure    bool   // the request came over TLS
	Resource  string // the resource name (a site id for site actions), or ""
	// ResourceType is the resource's type, such as ACS::ESA::Site.
	ResourceType string
	// Params are the request's parameters, masked (secrets never kept) and
	// bounded; the signature's own parameters are left out.
	Params       map[string]string
	ErrorCode    string // "" for success
	ErrorMessage string

	claimed atomic.Bool
}

// Claim reports whether the caller is the first to record e, and marks it
// recorded. A store calls it inside the transaction that writes e; Unclaim
// gives it back when that transaction does not commit.
func (e *Event) Claim() bool { return e.claimed.CompareAndSwap(false, true) }

// Unclaim undoes Claim after the transaction holding e failed to commit.
func (e *Event) Unclaim() { e.claimed.Store(false) }

// Claimed reports whether e was recorded.
func (e *Event) Claimed() bool { return e.claimed.Load() }

type ctxKey struct{}

// With returns ctx carrying e, for the store to record with the request's
// first committed change.
func With(ctx context.Context, e *Event) context.Context { return context.WithValue(ctx, ctxKey{}, e) }

// From returns the Event ctx carries, or nil.
func From(ctx context.Context) *Event {
	e, _ := ctx.Value(ctxKey{}).(*Event)
	return e
}

// MaxParam is the most of one parameter's value an event keeps.
const MaxParam = 512

// signatureParams are the envelope's own parameters, not worth keeping.
var signatureParams = map[string]bool{
	"Signature": true, "SignatureMethod": true, "SignatureVersion": true, "SignatureNonce": true,
	"SignatureType": true, "Timestamp": true, "AccessKeyId": true, "Format": true, "Action": true, "Version": true,
	"SecurityToken": true,
}

// Params returns the parameters of a request as an event keeps them: the
// first value of each, secrets masked (redact.Param), PEM text (a
// certificate) as its size and digest, each cut to MaxParam bytes, the
// signature's own parameters left out.
func Params(values map[string][]string) map[string]string {
	out := make(map[string]string, len(values))
	for k, vs := range values {
		if signatureParams[k] || len(vs) == 0 {
			continue
		}
		v := redact.Param(k, vs[0])
		if strings.Contains(v, "-----BEGIN ") {
			// A certificate: its digest says which one, in a few bytes.
			sum := sha256.Sum256([]byte(v))
			v = "[PEM, " + itoa(len(v)) + " bytes, sha256:" + hex.EncodeToString(sum[:8]) + "]"
		}
		if len(v) > MaxParam {
			v = v[:MaxParam] + "…[" + itoa(len(v)) + " bytes]"
		}
		out[redact.Clean(k, 128)] = v
	}
	return out
}

func itoa(n int) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
		if n == 0 {
			return string(b)
		}
	}
}

// IsRead reports whether an action only reads, by Alibaba Cloud's naming:
// Get…, List…, Describe…, Lookup…, Check… and Decode… actions.
func IsRead(action string) bool {
	for _, p := range []string{"Get", "List", "Describe", "Lookup", "Check", "Decode"} {
		if strings.HasPrefix(action, p) {
			return true
		}
	}
	return false
}

// RW is the event's EventRW: Write or Read.
func (e *Event) RW() string {
	if e.Write {
		return "Write"
	}
	return "Read"
}

// ActionTrail renders the event as ActionTrail's LookupEvents shows one.
func (e *Event) ActionTrail() map[string]any {
	params := map[string]any{}
	keys := make([]string, 0, len(e.Params))
	for k := range e.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		params[k] = e.Params[k]
	}
	m := map[string]any{
		"eventId":           e.ID,
		"eventVersion":      "1",
		"eventName":         e.Name,
		"eventSource":       e.Service,
		"eventTime":         e.Time.UTC().Format("2006-01-02T15:04:05Z"),
		"eventType":         "ApiCall",
		"eventRW":           e.RW(),
		"eventCategory":     "Management",
		"serviceName":       e.Service,
		"apiVersion":        e.Version,
		"requestId":         e.ID,
		"sourceIpAddress":   e.SourceIP,
		"userAgent":         e.UserAgent,
		"errorCode":         e.ErrorCode,
		"errorMessage":      e.ErrorMessage,
		"requestParameters": params,
		"additionalEventData": map[string]any{
			"Scheme": map[bool]string{true: "https", false: "http"}[e.Secure],
		},
		"userIdentity": map[string]any{
			"type":        e.Principal.Type,
			"principalId": e.Principal.PrincipalID,
			"accountId":   e.Principal.AccountID,
			"accessKeyId": e.Principal.AccessKeyID,
			"userName":    e.Principal.UserName,
		},
	}
	if e.Resource != "" {
		m["resourceName"], m["resourceType"] = e.Resource, e.ResourceType
	}
	return m
}

// Marshal and Unmarshal keep an event as JSON (the store's body column).
func (e *Event) Marshal() ([]byte, error) {
	type plain struct {
		ID, Name, Service, Version, SourceIP, UserAgent, Resource, ResourceType, ErrorCode, ErrorMessage string
		Time                                                                                             time.Time
		Write, Secure                                                                                    bool
		Principal                                                                                        Principal
		Params                                                                                           map[string]string
	}
	return json.Marshal(plain{e.ID, e.Name, e.Service, e.Version, e.SourceIP, e.UserAgent, e.Resource, e.ResourceType,
		e.ErrorCode, e.ErrorMessage, e.Time, e.Write, e.Secure, e.Principal, e.Params})
}

// Unmarshal reads what Marshal wrote.
func Unmarshal(data []byte) (*Event, error) {
	var p struct {
		ID, Name, Service, Version, SourceIP, UserAgent, Resource, ResourceType, ErrorCode, ErrorMessage string
		Time                                                                                             time.Time
		Write, Secure                                                                                    bool
		Principal                                                                                        Principal
		Params                                                                                           map[string]string
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, err
	}
	return &Event{ID: p.ID, Name: p.Name, Service: p.Service, Version: p.Version, SourceIP: p.SourceIP, UserAgent: p.UserAgent,
		Resource: p.Resource, ResourceType: p.ResourceType, ErrorCode: p.ErrorCode, ErrorMessage: p.ErrorMessage,
		Time: p.Time, Write: p.Write, Secure: p.Secure, Principal: p.Principal, Params: p.Params}, nil
}

// Filter selects events for LookupEvents.
type Filter struct {
	Start, End time.Time // End excluded
	// Attributes are the LookupAttribute pairs, by key (EventName, User,
	// ResourceName, ResourceType, EventRW, EventAccessKeyId, ServiceName,
	// EventId); every one must match, exactly.
	Attributes map[string]string
	Forward    bool   // oldest first; else newest first
	Limit      int    // at most this many
	After      string // the NextToken of the page before
}

// ErrBadToken is returned for a NextToken the store did not make.
var ErrBadToken = errors.New("audit: malformed page token")

// LookupKeys are the LookupAttribute keys Filter knows.
var LookupKeys = []string{"EventName", "User", "ResourceName", "ResourceType", "EventRW", "EventAccessKeyId", "ServiceName", "EventId"}
