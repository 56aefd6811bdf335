package node

import (
	"context"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/account"
	"github.com/esacert/esacert/internal/api"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/group"
	"github.com/esacert/esacert/internal/rampolicy"
	"github.com/esacert/esacert/internal/role"
	"github.com/esacert/esacert/internal/store/sqlstore"
	"github.com/esacert/esacert/internal/user"
)

// ramConn is access control on the node's database: the account (its id
// drawn at first start) and one Service per noun.
type ramConn struct {
	accountID string
	account   *account.Service
	users     *user.Service
	keys      *accesskey.Service
	groups    *group.Service
	policies  *rampolicy.Service
	roles     *role.Service
}

// connectRAM builds access control on store, with the master keys' sealer
// for the access keys' secrets.
func connectRAM(ctx context.Context, store *sqlstore.Store, sealer domain.Sealer) (*ramConn, error) {
	acct := &account.Service{Store: store}
	id, err := acct.Ensure(ctx)
	if err != nil {
		return nil, err
	}
	return &ramConn{
		accountID: id,
		account:   acct,
		users:     &user.Service{Store: store},
		keys:      &accesskey.Service{Store: store, Sealer: sealer},
		groups:    &group.Service{Store: store, Memberships: store},
		policies:  &rampolicy.Service{Store: store, VersionStore: store, AttachmentStore: store, TagStore: store},
		roles:     &role.Service{Store: store, TagStore: store},
	}, nil
}

// wire gives the API server access control.
func (c *ramConn) wire(s *api.Server) {
	s.AccountID, s.Account, s.Users, s.AccessKeys = c.accountID, c.account, c.users, c.keys
	s.Groups, s.Policies, s.Roles = c.groups, c.policies, c.roles
}
