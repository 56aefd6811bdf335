package api

import "context"

func (s *Server) getAccountAlias(ctx context.Context, p *params) (any, error) {
	alias, err := s.Account.Alias(ctx, s.AccountID)
	if err != nil {
		return nil, err
	}
	return struct{ AccountAlias string }{alias}, nil
}

func (s *Server) setAccountAlias(ctx context.Context, p *params) (any, error) {
	return nil, s.Account.SetAlias(ctx, p.str("AccountAlias"))
}
