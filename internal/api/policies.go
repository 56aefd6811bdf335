package api

import (
	"context"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/rampolicy"
)

// policyJSON is a RAM policy as RAM's answers show it: AttachmentCount,
// UpdateDate and Tags only where the action has them.
type policyJSON struct {
	PolicyName      string
	PolicyType      string
	Description     string
	DefaultVersion  string
	AttachmentCount *int `json:",omitempty"`
	CreateDate      string
	UpdateDate      string       `json:",omitempty"`
	Tags            *ramTagsJSON `json:",omitempty"`
}

func policyView(p rampolicy.Policy, full bool) policyJSON {
	j := policyJSON{PolicyName: p.Name, PolicyType: p.Type, Description: p.Description, DefaultVersion: p.DefaultVersion,
		CreateDate: fmtSiteTime(p.Created)}
	if full {
		n := p.AttachmentCount
		j.AttachmentCount, j.UpdateDate = &n, fmtSiteTime(p.Updated)
	}
	return j
}

type versionJSON struct {
	VersionId        string
	IsDefaultVersion bool
	PolicyDocument   string
	CreateDate       string
}

func versionView(v rampolicy.Version) versionJSON {
	return versionJSON{v.ID, v.Default, v.Document, fmtSiteTime(v.Created)}
}

func (s *Server) createPolicy(ctx context.Context, p *params) (any, error) {
	tags, err := p.tags()
	if err != nil {
		return nil, err
	}
	pol, err := s.Policies.CreatePolicy(ctx, p.str("PolicyName"), p.str("PolicyDocument"), p.str("Description"), tags)
	if err != nil {
		return nil, err
	}
	return struct{ Policy policyJSON }{policyView(pol, false)}, nil
}

func (s *Server) getPolicy(ctx context.Context, p *params) (any, error) {
	pol, v, err := s.Policies.Policy(ctx, p.str("PolicyType"), p.str("PolicyName"))
	if err != nil {
		return nil, err
	}
	return struct {
		Policy               policyJSON
		DefaultPolicyVersion versionJSON
	}{policyView(pol, true), versionView(v)}, nil
}

func (s *Server) listPolicies(ctx context.Context, p *params) (any, error) {
	if p.str("Tag") != "" || p.has("Tag.1.Key") {
		return nil, domain.Invalid("Tag", "filtering policies by tag is not supported; list them all and read their Tags")
	}
	m, err := p.marker(100, 1000)
	if err != nil {
		return nil, err
	}
	list, next, err := s.Policies.ListPolicies(ctx, p.str("PolicyType"), m)
	if err != nil {
		return nil, err
	}
	out := struct {
		truncated
		Policies struct{ Policy []policyJSON }
	}{truncated: page(next)}
	out.Policies.Policy = []policyJSON{}
	for _, pol := range list {
		j := policyView(pol, true)
		tags := ramTags(pol.Tags)
		j.Tags = &tags
		out.Policies.Policy = append(out.Policies.Policy, j)
	}
	return out, nil
}

func (s *Server) updatePolicyDescription(ctx context.Context, p *params) (any, error) {
	pol, err := s.Policies.UpdateDescription(ctx, p.str("PolicyName"), p.str("NewDescription"))
	if err != nil {
		return nil, err
	}
	j := policyView(pol, true)
	j.AttachmentCount = nil
	return struct{ Policy policyJSON }{j}, nil
}

func (s *Server) deletePolicy(ctx context.Context, p *params) (any, error) {
	cascade, err := p.boolean("CascadingDelete")
	if err != nil {
		return nil, err
	}
	return nil, s.Policies.DeletePolicy(ctx, p.str("PolicyName"), cascade)
}

func (s *Server) createPolicyVersion(ctx context.Context, p *params) (any, error) {
	setDefault, err := p.boolean("SetAsDefault")
	if err != nil {
		return nil, err
	}
	v, err := s.Policies.CreateVersion(ctx, p.str("PolicyName"), p.str("PolicyDocument"), setDefault, p.str("RotateStrategy"))
	if err != nil {
		return nil, err
	}
	return struct{ PolicyVersion versionJSON }{versionView(v)}, nil
}

func (s *Server) getPolicyVersion(ctx context.Context, p *params) (any, error) {
	v, err := s.Policies.Version(ctx, p.str("PolicyType"), p.str("PolicyName"), p.str("VersionId"))
	if err != nil {
		return nil, err
	}
	return struct{ PolicyVersion versionJSON }{versionView(v)}, nil
}

func (s *Server) listPolicyVersions(ctx context.Context, p *params) (any, error) {
	list, err := s.Policies.Versions(ctx, p.str("PolicyType"), p.str("PolicyName"))
	if err != nil {
		return nil, err
	}
	var out struct {
		PolicyVersions struct{ PolicyVersion []versionJSON }
	}
	out.PolicyVersions.PolicyVersion = []versionJSON{}
	for _, v := range list {
		out.PolicyVersions.PolicyVersion = append(out.PolicyVersions.PolicyVersion, versionView(v))
	}
	return out, nil
}

func (s *Server) deletePolicyVersion(ctx context.Context, p *params) (any, error) {
	return nil, s.Policies.DeleteVersion(ctx, p.str("PolicyName"), p.str("VersionId"))
}

func (s *Server) setDefaultPolicyVersion(ctx context.Context, p *params) (any, error) {
	return nil, s.Policies.SetDefaultVersion(ctx, p.str("PolicyName"), p.str("VersionId"))
}

// principalParam is the parameter naming a principal of each kind.
var principalParam = map[string]string{rampolicy.KindUser: "UserName", rampolicy.KindGroup: "GroupName", rampolicy.KindRole: "RoleName"}

// attach, detach and policiesFor are AttachPolicyTo…, DetachPolicyFrom…
// and ListPoliciesFor… for one kind of principal.
func attach(kind string) action {
	return func(s *Server, ctx context.Context, p *params) (any, error) {
		return nil, s.Policies.Attach(ctx, p.str("PolicyType"), p.str("PolicyName"), kind, p.str(principalParam[kind]))
	}
}

func detach(kind string) action {
	return func(s *Server, ctx context.Context, p *params) (any, error) {
		return nil, s.Policies.Detach(ctx, p.str("PolicyType"), p.str("PolicyName"), kind, p.str(principalParam[kind]))
	}
}

func policiesFor(kind string) action {
	return func(s *Server, ctx context.Context, p *params) (any, error) {
		list, err := s.Policies.PoliciesOf(ctx, kind, p.str(principalParam[kind]))
		if err != nil {
			return nil, err
		}
		type item struct{ PolicyName, PolicyType, Description, DefaultVersion, AttachDate string }
		var out struct{ Policies struct{ Policy []item } }
		out.Policies.Policy = []item{}
		for _, a := range list {
			out.Policies.Policy = append(out.Policies.Policy, item{a.Name, a.Type, a.Description, a.DefaultVersion, fmtSiteTime(a.Attached)})
		}
		return out, nil
	}
}

func (s *Server) listEntitiesForPolicy(ctx context.Context, p *params) (any, error) {
	list, err := s.Policies.Entities(ctx, p.str("PolicyType"), p.str("PolicyName"))
	if err != nil {
		return nil, err
	}
	type userItem struct{ UserId, UserName, DisplayName, AttachDate string }
	type groupItem struct{ GroupName, Comments, AttachDate string }
	type roleItem struct{ RoleId, RoleName, Arn, Description, AttachDate string }
	// Every wrapper is there, empty or not: Terraform reads $.Users.User,
	// $.Groups.Group and $.Roles.Role and fails on a missing one.
	var out struct {
		Users  struct{ User []userItem }
		Groups struct{ Group []groupItem }
		Roles  struct{ Role []roleItem }
	}
	out.Users.User, out.Groups.Group, out.Roles.Role = []userItem{}, []groupItem{}, []roleItem{}
	for _, e := range list {
		at := fmtSiteTime(e.Attached)
		switch e.Kind {
		case rampolicy.KindUser:
			out.Users.User = append(out.Users.User, userItem{e.ID, e.Name, e.DisplayName, at})
		case rampolicy.KindGroup:
			out.Groups.Group = append(out.Groups.Group, groupItem{e.Name, e.Comments, at})
		case rampolicy.KindRole:
			out.Roles.Role = append(out.Roles.Role, roleItem{e.ID, e.Name, "acs:ram::" + s.AccountID + ":role/" + e.Name, e.Description, at})
		}
	}
	return out, nil
}
