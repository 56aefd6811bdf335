package api

import (
	"context"

	"github.com/esacert/esacert/internal/group"
)

type groupJSON struct {
	GroupId    string
	GroupName  string
	Comments   string
	CreateDate string
	UpdateDate string `json:",omitempty"`
}

func groupView(g group.Group, updated bool) groupJSON {
	j := groupJSON{GroupId: g.ID, GroupName: g.Name, Comments: g.Comments, CreateDate: fmtSiteTime(g.Created)}
	if updated {
		j.UpdateDate = fmtSiteTime(g.Updated)
	}
	return j
}

func (s *Server) createGroup(ctx context.Context, p *params) (any, error) {
	g, err := s.Groups.CreateGroup(ctx, p.str("GroupName"), p.str("Comments"))
	if err != nil {
		return nil, err
	}
	return struct{ Group groupJSON }{groupView(g, false)}, nil
}

func (s *Server) getGroup(ctx context.Context, p *params) (any, error) {
	g, err := s.Groups.Group(ctx, p.str("GroupName"))
	if err != nil {
		return nil, err
	}
	return struct{ Group groupJSON }{groupView(g, true)}, nil
}

func (s *Server) listGroups(ctx context.Context, p *params) (any, error) {
	m, err := p.marker(100, 100)
	if err != nil {
		return nil, err
	}
	list, next, err := s.Groups.ListGroups(ctx, m)
	if err != nil {
		return nil, err
	}
	out := struct {
		truncated
		Groups struct{ Group []groupJSON }
	}{truncated: page(next)}
	out.Groups.Group = []groupJSON{}
	for _, g := range list {
		out.Groups.Group = append(out.Groups.Group, groupView(g, true))
	}
	return out, nil
}

func (s *Server) updateGroup(ctx context.Context, p *params) (any, error) {
	g, err := s.Groups.UpdateGroup(ctx, p.str("GroupName"), p.optional("NewGroupName"), p.optional("NewComments"))
	if err != nil {
		return nil, err
	}
	return struct{ Group groupJSON }{groupView(g, true)}, nil
}

func (s *Server) deleteGroup(ctx context.Context, p *params) (any, error) {
	return nil, s.Groups.DeleteGroup(ctx, p.str("GroupName"))
}

func (s *Server) addUserToGroup(ctx context.Context, p *params) (any, error) {
	return nil, s.Groups.AddUser(ctx, p.str("GroupName"), p.str("UserName"))
}

func (s *Server) removeUserFromGroup(ctx context.Context, p *params) (any, error) {
	return nil, s.Groups.RemoveUser(ctx, p.str("GroupName"), p.str("UserName"))
}

func (s *Server) listGroupsForUser(ctx context.Context, p *params) (any, error) {
	list, err := s.Groups.GroupsOfUser(ctx, p.str("UserName"))
	if err != nil {
		return nil, err
	}
	type item struct{ GroupId, GroupName, Comments, JoinDate string }
	var out struct{ Groups struct{ Group []item } }
	out.Groups.Group = []item{}
	for _, m := range list {
		out.Groups.Group = append(out.Groups.Group, item{m.ID, m.Name, m.Comments, fmtSiteTime(m.Joined)})
	}
	return out, nil
}

func (s *Server) listUsersForGroup(ctx context.Context, p *params) (any, error) {
	m, err := p.marker(100, 1000)
	if err != nil {
		return nil, err
	}
	list, next, err := s.Groups.Members(ctx, p.str("GroupName"), m)
	if err != nil {
		return nil, err
	}
	type item struct{ UserName, DisplayName, JoinDate string }
	out := struct {
		truncated
		Users struct{ User []item }
	}{truncated: page(next)}
	out.Users.User = []item{}
	for _, mb := range list {
		out.Users.User = append(out.Users.User, item{mb.UserName, mb.DisplayName, fmtSiteTime(mb.Joined)})
	}
	return out, nil
}
