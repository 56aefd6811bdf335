package node

import (
	"context"
	"log/slog"
	"time"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/account"
	"github.com/esacert/esacert/internal/api"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/group"
	"github.com/esacert/esacert/internal/identity"
	"github.com/esacert/esacert/internal/rampolicy"
	"github.com/esacert/esacert/internal/role"
	"github.com/esacert/esacert/internal/session"
	"github.com/esacert/esacert/internal/store/sqlstore"
	"github.com/esacert/esacert/internal/user"
)

// ramConn is access control on the node's database: the account (its id
// drawn at first start), one Service per noun, STS, and the resolver of
// who signs a request.
type ramConn struct {
	accountID string
	account   *account.Service
	users     *user.Service
	keys      *accesskey.Service
	groups    *group.Service
	policies  *rampolicy.Service
	roles     *role.Service
	ids       *identity.Resolver // who signs with a key that is not the root key
	sessions  *session.Service   // STS
}

// connectRAM builds access control on store, with the master keys' sealer
// for the access keys' secrets.
func connectRAM(ctx context.Context, store *sqlstore.Store, sealer domain.Sealer) (*ramConn, error) {
	acct := &account.Service{Store: store}
	id, err := acct.Ensure(ctx)
	if err != nil {
		return nil, err
	}
	sessions := &session.Service{Roles: store, Keys: store, Sealer: sealer, Account: id}
	return &ramConn{
		accountID: id,
		account:   acct,
		users:     &user.Service{Store: store},
		keys:      &accesskey.Service{Store: store, Sealer: sealer},
		groups:    &group.Service{Store: store, Memberships: store},
		policies:  &rampolicy.Service{Store: store, VersionStore: store, AttachmentStore: store, TagStore: store},
		roles:     &role.Service{Store: store, TagStore: store},
		ids:       &identity.Resolver{Store: store, Sealer: sealer, Account: id, Sessions: sessions},
		sessions:  sessions,
	}, nil
}

// follow keeps the node's cache of identities in step with the database
// until ctx ends: woken by the store's change notifications (every node's,
// on PostgreSQL) and at least every identity.DefaultPoll, so that a key
// disabled or a policy detached on any node is in force here within a
// second.
func (c *ramConn) follow(ctx context.Context, store *sqlstore.Store, log *slog.Logger) {
	wake, stop := store.Watch()
	defer stop()
	var logged time.Time // a database that is down fails every poll: say so once a minute
	c.ids.Follow(ctx, wake, identity.DefaultPoll, func(err error) {
		if time.Since(logged) > time.Minute {
			logged = time.Now()
			log.Warn("access control: cannot read the RAM revision; identities are read from the database again", "error", err)
		}
	})
}

// wire gives the API server access control.
func (c *ramConn) wire(s *api.Server) {
	s.AccountID, s.Account, s.Users, s.AccessKeys = c.accountID, c.account, c.users, c.keys
	s.Groups, s.Policies, s.Roles = c.groups, c.policies, c.roles
	s.Identities, s.Sessions = c.ids, c.sessions
}
