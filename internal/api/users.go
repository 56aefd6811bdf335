package api

import (
	"context"

	"github.com/esacert/esacert/internal/user"
)

// userJSON is a RAM user as RAM's answers show it: UpdateDate and
// LastLoginDate only where the action has them.
type userJSON struct {
	UserId        string
	UserName      string
	DisplayName   string
	MobilePhone   string
	Email         string
	Comments      string
	CreateDate    string
	UpdateDate    string `json:",omitempty"`
	LastLoginDate string `json:",omitempty"`
}

func userView(u user.User, updated bool) userJSON {
	j := userJSON{UserId: u.ID, UserName: u.Name, DisplayName: u.DisplayName, MobilePhone: u.MobilePhone,
		Email: u.Email, Comments: u.Comments, CreateDate: fmtSiteTime(u.Created)}
	if updated {
		j.UpdateDate = fmtSiteTime(u.Updated)
	}
	return j
}

func (s *Server) createUser(ctx context.Context, p *params) (any, error) {
	u, err := s.Users.CreateUser(ctx, user.CreateInput{Name: p.str("UserName"), DisplayName: p.str("DisplayName"),
		MobilePhone: p.str("MobilePhone"), Email: p.str("Email"), Comments: p.str("Comments")})
	if err != nil {
		return nil, err
	}
	return struct{ User userJSON }{userView(u, false)}, nil
}

func (s *Server) getUser(ctx context.Context, p *params) (any, error) {
	u, err := s.Users.User(ctx, p.str("UserName"))
	if err != nil {
		return nil, err
	}
	j := userView(u, true)
	j.LastLoginDate = fmtSiteTime(u.LastLogin)
	return struct{ User userJSON }{j}, nil
}

func (s *Server) listUsers(ctx context.Context, p *params) (any, error) {
	m, err := p.marker(100, 1000)
	if err != nil {
		return nil, err
	}
	list, next, err := s.Users.ListUsers(ctx, m)
	if err != nil {
		return nil, err
	}
	out := struct {
		truncated
		Users struct{ User []userJSON }
	}{truncated: page(next)}
	out.Users.User = []userJSON{}
	for _, u := range list {
		out.Users.User = append(out.Users.User, userView(u, true))
	}
	return out, nil
}

func (s *Server) updateUser(ctx context.Context, p *params) (any, error) {
	u, err := s.Users.UpdateUser(ctx, p.str("UserName"), user.UpdateInput{NewName: p.optional("NewUserName"),
		NewDisplayName: p.optional("NewDisplayName"), NewMobilePhone: p.optional("NewMobilePhone"),
		NewEmail: p.optional("NewEmail"), NewComments: p.optional("NewComments")})
	if err != nil {
		return nil, err
	}
	return struct{ User userJSON }{userView(u, true)}, nil
}

func (s *Server) deleteUser(ctx context.Context, p *params) (any, error) {
	return nil, s.Users.DeleteUser(ctx, p.str("UserName"))
}

func (s *Server) deleteLoginProfile(ctx context.Context, p *params) (any, error) {
	return nil, s.Users.DeleteLoginProfile(ctx, p.str("UserName"))
}

func (s *Server) unbindMFADevice(ctx context.Context, p *params) (any, error) {
	return nil, s.Users.UnbindMFADevice(ctx, p.str("UserName"))
}
