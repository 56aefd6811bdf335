package session_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/role"
	"github.com/esacert/esacert/internal/session"
	"github.com/esacert/esacert/internal/sitetest"
)

const account = "1234567890123456"

func trust(principal string) string {
	return `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"` + principal + `"},
		"Condition":{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}}]}`
}

func newService(t *testing.T) (*session.Service, *role.Service, *sitetest.Clock) {
	t.Helper()
	env := sitetest.New(t)
	roles := &role.Service{Store: env.Store, TagStore: env.Store, Now: env.Clock.Now}
	if _, err := roles.CreateRole(t.Context(), role.CreateInput{Name: "deployer", TrustDocument: trust("acs:ram::" + account + ":root"),
		MaxSessionDuration: 7200}); err != nil {
		t.Fatal(err)
	}
	if _, err := roles.CreateRole(t.Context(), role.CreateInput{Name: "alice-only", TrustDocument: trust("acs:ram::" + account + ":user/alice")}); err != nil {
		t.Fatal(err)
	}
	return &session.Service{Roles: env.Store, Keys: env.Store, Sealer: env.Sealer, Account: account, Now: env.Clock.Now}, roles, env.Clock
}

var (
	bob    = session.Caller{Account: account, ARNs: []string{"acs:ram::" + account + ":user/bob"}}
	inside = map[string]string{"acs:sourceip": "10.1.2.3"}
)

func TestAssumeRole(t *testing.T) {
	s, _, _ := newService(t)
	arn := "acs:ram::" + account + ":role/deployer"
	tests := []struct {
		name      string
		caller    session.Caller
		in        session.AssumeInput
		want      error
		wantParam string
	}{
		{"ok", bob, session.AssumeInput{RoleArn: arn, SessionName: "ci-1", Context: inside}, nil, ""},
		{"ok/longest", bob, session.AssumeInput{RoleArn: arn, SessionName: "ci-1", Duration: 7200, Context: inside}, nil, ""},
		{"fail/root", session.Caller{Root: true, Account: account}, session.AssumeInput{RoleArn: arn, SessionName: "ci-1"}, session.ErrRootCaller, ""},
		{"fail/outside_cidr", bob, session.AssumeInput{RoleArn: arn, SessionName: "ci-1", Context: map[string]string{"acs:sourceip": "192.0.2.1"}}, session.ErrNotTrusted, ""},
		{"fail/not_named", bob, session.AssumeInput{RoleArn: "acs:ram::" + account + ":role/alice-only", SessionName: "ci-1", Context: inside}, session.ErrNotTrusted, ""},
		{"fail/other_account", bob, session.AssumeInput{RoleArn: "acs:ram::999:role/deployer", SessionName: "ci-1"}, role.ErrRoleNotFound, ""},
		{"fail/no_role", bob, session.AssumeInput{RoleArn: "acs:ram::" + account + ":role/nope", SessionName: "ci-1"}, role.ErrRoleNotFound, ""},
		{"fail/arn", bob, session.AssumeInput{RoleArn: "deployer", SessionName: "ci-1"}, domain.ErrInvalid, "RoleArn"},
		{"fail/session_name", bob, session.AssumeInput{RoleArn: arn, SessionName: "x"}, domain.ErrInvalid, "RoleSessionName"},
		{"fail/too_short", bob, session.AssumeInput{RoleArn: arn, SessionName: "ci-1", Duration: 899, Context: inside}, domain.ErrInvalid, "DurationSeconds"},
		{"fail/too_long", bob, session.AssumeInput{RoleArn: arn, SessionName: "ci-1", Duration: 7201, Context: inside}, domain.ErrInvalid, "DurationSeconds"},
		{"fail/policy_grammar", bob, session.AssumeInput{RoleArn: arn, SessionName: "ci-1", Policy: `{"Version":"2"}`}, session.ErrPolicyGrammar, "Policy"},
		{"fail/policy_size", bob, session.AssumeInput{RoleArn: arn, SessionName: "ci-1", Policy: strings.Repeat(" ", 2049)}, session.ErrPolicySize, "Policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := s.AssumeRole(t.Context(), tt.caller, tt.in)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(c.AccessKeyID, "STS.") || len(c.AccessKeySecret) != 40 || !strings.HasPrefix(c.SecurityToken, "CAIS") {
					t.Errorf("credentials = %+v", c)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("AssumeRole = %v, want %v", err, tt.want)
			}
			var pe *domain.ParamError
			if tt.wantParam != "" && (!errors.As(err, &pe) || pe.Param != tt.wantParam) {
				t.Errorf("AssumeRole = %v, want a ParamError naming %s", err, tt.wantParam)
			}
		})
	}
}

// TestOpen: a session's credentials verify with their own token only,
// until they expire or their role goes; its secret is the one AssumeRole
// answered, and nothing stored holds it.
func TestOpen(t *testing.T) {
	s, roles, clk := newService(t)
	ctx := t.Context()
	c, err := s.AssumeRole(ctx, bob, session.AssumeInput{RoleArn: "acs:ram::" + account + ":role/deployer", SessionName: "ci-1",
		Duration: 900, Policy: `{"Version":"1","Statement":{"Effect":"Allow","Action":"esa:Get*","Resource":"*"}}`, Context: inside})
	if err != nil {
		t.Fatal(err)
	}
	sess, secret, err := s.Open(ctx, c.AccessKeyID, c.SecurityToken)
	if err != nil || secret != c.AccessKeySecret || sess.RoleName != "deployer" || sess.SessionName != "ci-1" || !strings.Contains(sess.Policy, "esa:Get*") {
		t.Fatalf("Open = %+v, %q, %v", sess, secret, err)
	}
	other, err := s.AssumeRole(ctx, bob, session.AssumeInput{RoleArn: "acs:ram::" + account + ":role/deployer", SessionName: "ci-2", Context: inside})
	if err != nil {
		t.Fatal(err)
	}
	// A fresh service (another node) verifies the same token with the key it reads from the database.
	again := &session.Service{Roles: s.Roles, Keys: s.Keys, Sealer: s.Sealer, Account: account, Now: clk.Now}
	if _, got, err := again.Open(ctx, c.AccessKeyID, c.SecurityToken); err != nil || got != secret {
		t.Fatalf("another node's Open = %q, %v", got, err)
	}
	tampered := []byte(c.SecurityToken)
	tampered[10] ^= 1
	tests := []struct {
		name, key, token string
		want             error
	}{
		{"fail/no_token", c.AccessKeyID, "", session.ErrTokenMissing},
		{"fail/garbage", c.AccessKeyID, "CAISnot-a-token", session.ErrTokenMalformed},
		{"fail/tampered", c.AccessKeyID, string(tampered), session.ErrTokenMalformed},
		{"fail/other_key", other.AccessKeyID, c.SecurityToken, session.ErrTokenMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := s.Open(ctx, tt.key, tt.token); !errors.Is(err, tt.want) {
				t.Errorf("Open = %v, want %v", err, tt.want)
			}
		})
	}
	clk.T = clk.T.Add(900 * time.Second)
	if _, _, err := s.Open(ctx, c.AccessKeyID, c.SecurityToken); !errors.Is(err, session.ErrTokenExpired) {
		t.Errorf("Open after 900 s = %v, want ErrTokenExpired", err)
	}
	if _, _, err := s.Open(ctx, other.AccessKeyID, other.SecurityToken); err != nil {
		t.Fatalf("the other, longer session = %v", err)
	}
	if err := roles.DeleteRole(ctx, "deployer"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Open(ctx, other.AccessKeyID, other.SecurityToken); !errors.Is(err, session.ErrRoleGone) {
		t.Errorf("Open after the role's delete = %v, want ErrRoleGone", err)
	}
}
