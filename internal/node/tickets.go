package node

import (
	"context"

	"github.com/esacert/esacert/internal/config"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/ticketkey"
)

// ticketStore is the ticket keeper's view of the node's store, which fails
// until the database is reached.
type ticketStore struct {
	n *Node
}

var _ ticketkey.Store = ticketStore{}

func (s ticketStore) TicketKeys(ctx context.Context) ([]ticketkey.Sealed, error) {
	store := s.n.db.Load()
	if store == nil {
		return nil, errNoDatabase
	}
	return store.TicketKeys(ctx)
}

func (s ticketStore) AddTicketKey(ctx context.Context, k ticketkey.Sealed) (bool, error) {
	store := s.n.db.Load()
	if store == nil {
		return false, errNoDatabase
	}
	return store.AddTicketKey(ctx, k)
}

// startTickets starts the keeper of the edge's session ticket keys, or
// returns nil when resumption is off. Without the database (an edge
// started from its snapshot) it has no keys at first: the edge issues
// tickets that never resume until it reads them.
func (n *Node) startTickets(ctx context.Context, cfg config.Config, sealer domain.Sealer) *ticketkey.Keeper {
	if cfg.TicketRotation == "off" {
		return nil
	}
	k := &ticketkey.Keeper{Store: ticketStore{n}, Sealer: sealer, Period: config.Duration(cfg.TicketRotation), Log: n.log}
	k.Start(ctx) // a failure is logged; the keeper tries again every poll
	return k
}
