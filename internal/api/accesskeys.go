package api

import (
	"context"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/identity"
)

// keyUser is the user an access key action is about: UserName when sent,
// else the RAM user who signed the request (as RAM does). The root key
// has no user: it must name one.
func (s *Server) keyUser(p *params) (string, error) {
	if name := p.str("UserName"); name != "" {
		return name, nil
	}
	if c := p.caller; c != nil && c.UserName != "" {
		return c.UserName, nil
	}
	return "", domain.Missing("UserName")
}

type accessKeyJSON struct {
	AccessKeyId     string
	AccessKeySecret string `json:",omitempty"`
	Status          string
	CreateDate      string
}

func (s *Server) createAccessKey(ctx context.Context, p *params) (any, error) {
	name, err := s.keyUser(p)
	if err != nil {
		return nil, err
	}
	k, secret, err := s.AccessKeys.Create(ctx, name)
	if err != nil {
		return nil, err
	}
	// The only answer that ever holds a secret (see redact: the log line
	// never shows a response body).
	return struct{ AccessKey accessKeyJSON }{accessKeyJSON{k.ID, secret, k.Status, fmtSiteTime(k.Created)}}, nil
}

func (s *Server) listAccessKeys(ctx context.Context, p *params) (any, error) {
	name, err := s.keyUser(p)
	if err != nil {
		return nil, err
	}
	list, err := s.AccessKeys.List(ctx, name)
	if err != nil {
		return nil, err
	}
	var out struct {
		AccessKeys struct{ AccessKey []accessKeyJSON }
	}
	out.AccessKeys.AccessKey = []accessKeyJSON{}
	for _, k := range list {
		out.AccessKeys.AccessKey = append(out.AccessKeys.AccessKey, accessKeyJSON{AccessKeyId: k.ID, Status: k.Status,
			CreateDate: fmtSiteTime(k.Created)})
	}
	return out, nil
}

// keyOwner is the user of the key an update or delete names: UserName
// when sent, else the RAM user who signs (its own keys only, as RAM does:
// the authorization was decided on that user), else, for the root key,
// the key's own user.
func (s *Server) keyOwner(ctx context.Context, p *params) (string, error) {
	if name := p.str("UserName"); name != "" {
		return name, nil
	}
	if c := p.caller; c != nil && c.Kind != identity.Root {
		if c.UserName == "" {
			return "", domain.Missing("UserName")
		}
		return c.UserName, nil
	}
	k, err := s.AccessKeys.Key(ctx, p.str("UserAccessKeyId"))
	if err != nil {
		return "", err
	}
	return k.UserName, nil
}

func (s *Server) updateAccessKey(ctx context.Context, p *params) (any, error) {
	name, err := s.keyOwner(ctx, p)
	if err != nil {
		return nil, err
	}
	return nil, s.AccessKeys.SetStatus(ctx, name, p.str("UserAccessKeyId"), p.str("Status"))
}

func (s *Server) deleteAccessKey(ctx context.Context, p *params) (any, error) {
	name, err := s.keyOwner(ctx, p)
	if err != nil {
		return nil, err
	}
	return nil, s.AccessKeys.Delete(ctx, name, p.str("UserAccessKeyId"))
}
