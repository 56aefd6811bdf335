package api

import (
	"context"
	"strings"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/role"
)

// roleJSON is a RAM role as RAM's answers show it: the trust policy,
// UpdateDate and Tags only where the action has them.
type roleJSON struct {
	RoleId                   string
	RoleName                 string
	Arn                      string
	Description              string
	AssumeRolePolicyDocument string `json:",omitempty"`
	MaxSessionDuration       int
	CreateDate               string
	UpdateDate               string       `json:",omitempty"`
	Tags                     *ramTagsJSON `json:",omitempty"`
}

func (s *Server) roleView(r role.Role, trust, updated bool) roleJSON {
	j := roleJSON{RoleId: r.ID, RoleName: r.Name, Arn: r.ARN(s.AccountID), Description: r.Description,
		MaxSessionDuration: r.MaxSessionDuration, CreateDate: fmtSiteTime(r.Created)}
	if trust {
		j.AssumeRolePolicyDocument = r.TrustDocument
	}
	if updated {
		j.UpdateDate = fmtSiteTime(r.Updated)
	}
	return j
}

func (s *Server) createRole(ctx context.Context, p *params) (any, error) {
	tags, err := p.tags()
	if err != nil {
		return nil, err
	}
	max, err := p.int("MaxSessionDuration")
	if err != nil {
		return nil, err
	}
	r, err := s.Roles.CreateRole(ctx, role.CreateInput{Name: p.str("RoleName"), TrustDocument: p.str("AssumeRolePolicyDocument"),
		Description: p.str("Description"), MaxSessionDuration: max, Tags: tags})
	if err != nil {
		return nil, err
	}
	return struct{ Role roleJSON }{s.roleView(r, true, false)}, nil
}

func (s *Server) getRole(ctx context.Context, p *params) (any, error) {
	r, err := s.Roles.Role(ctx, p.str("RoleName"))
	if err != nil {
		return nil, err
	}
	return struct{ Role roleJSON }{s.roleView(r, true, true)}, nil
}

func (s *Server) listRoles(ctx context.Context, p *params) (any, error) {
	if p.str("Tag") != "" || p.has("Tag.1.Key") {
		return nil, domain.Invalid("Tag", "filtering roles by tag is not supported; list them all and read their Tags")
	}
	m, err := p.marker(100, 1000)
	if err != nil {
		return nil, err
	}
	list, next, err := s.Roles.ListRoles(ctx, m)
	if err != nil {
		return nil, err
	}
	out := struct {
		truncated
		Roles struct{ Role []roleJSON }
	}{truncated: page(next)}
	out.Roles.Role = []roleJSON{}
	for _, r := range list {
		j := s.roleView(r, false, true)
		tags := ramTags(r.Tags)
		j.Tags = &tags
		out.Roles.Role = append(out.Roles.Role, j)
	}
	return out, nil
}

func (s *Server) updateRole(ctx context.Context, p *params) (any, error) {
	in := role.UpdateInput{TrustDocument: p.optional("NewAssumeRolePolicyDocument"), Description: p.optional("NewDescription")}
	if strings.TrimSpace(p.str("NewMaxSessionDuration")) != "" {
		n, err := p.int("NewMaxSessionDuration")
		if err != nil {
			return nil, err
		}
		in.MaxSessionDuration = &n
	}
	r, err := s.Roles.UpdateRole(ctx, p.str("RoleName"), in)
	if err != nil {
		return nil, err
	}
	return struct{ Role roleJSON }{s.roleView(r, true, true)}, nil
}

func (s *Server) deleteRole(ctx context.Context, p *params) (any, error) {
	return nil, s.Roles.DeleteRole(ctx, p.str("RoleName"))
}
