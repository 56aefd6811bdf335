package api

import (
	"context"
	"maps"
	"strings"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/identity"
	"github.com/esacert/esacert/internal/session"
)

// STSVersion is the version of Alibaba Cloud STS's OpenAPI (AssumeRole,
// GetCallerIdentity) that esacert answers on the same endpoint.
const STSVersion = "2015-04-01"

// keyExternalID is the condition key of AssumeRole's ExternalId, as
// policy.Request.Set spells it.
var keyExternalID = strings.ToLower("sts:ExternalId")

// stsCaller is who asks to assume a role, as the session package sees it.
func stsCaller(c *identity.Identity) session.Caller {
	switch c.Kind {
	case identity.User:
		return session.Caller{Account: c.Account, ARNs: []string{c.ARN()}}
	case identity.Session:
		return session.Caller{Account: c.Account, ARNs: []string{"acs:ram::" + c.Account + ":role/" + c.RoleName, c.ARN()}}
	}
	return session.Caller{Root: true, Account: c.Account}
}

func (s *Server) assumeRole(ctx context.Context, p *params) (any, error) {
	duration, err := p.int64("DurationSeconds")
	if err != nil {
		return nil, err
	}
	if p.str("SourceIdentity") != "" {
		return nil, domain.Invalid("SourceIdentity", "is not supported by esacert")
	}
	conditions := p.conditions
	if id := p.str("ExternalId"); id != "" {
		// The trust policy may require it: Condition {"StringEquals": {"sts:ExternalId": "…"}}.
		conditions = maps.Clone(p.conditions)
		conditions[keyExternalID] = id
	}
	cred, err := s.Sessions.AssumeRole(ctx, stsCaller(p.caller), session.AssumeInput{RoleArn: p.str("RoleArn"),
		SessionName: p.str("RoleSessionName"), Duration: duration, Policy: p.str("Policy"), Context: conditions})
	if err != nil {
		return nil, err
	}
	type credentials struct{ AccessKeyId, AccessKeySecret, SecurityToken, Expiration string }
	type assumed struct{ Arn, AssumedRoleId string }
	// The only answer that holds a session's secret; it is stored nowhere.
	return struct {
		Credentials     credentials
		AssumedRoleUser assumed
	}{
		credentials{cred.AccessKeyID, cred.AccessKeySecret, cred.SecurityToken, fmtSiteTime(cred.Expiration)},
		assumed{"acs:ram::" + s.AccountID + ":role/" + cred.RoleName + "/" + cred.SessionName, cred.RoleID + ":" + cred.SessionName},
	}, nil
}

func (s *Server) getCallerIdentity(ctx context.Context, p *params) (any, error) {
	c := p.caller
	out := struct {
		AccountId    string
		UserId       string `json:",omitempty"`
		RoleId       string `json:",omitempty"`
		Arn          string
		IdentityType string
		PrincipalId  string
	}{AccountId: s.AccountID, Arn: c.ARN()}
	switch c.Kind {
	case identity.User:
		out.IdentityType, out.UserId, out.PrincipalId = "RAMUser", c.UserID, c.UserID
	case identity.Session:
		out.IdentityType, out.RoleId, out.PrincipalId = "AssumedRoleUser", c.RoleID, c.RoleID+":"+c.SessionName
	default:
		out.IdentityType, out.UserId, out.PrincipalId = "Account", s.AccountID, s.AccountID
	}
	return out, nil
}
