package sqlstore

import (
	"context"
	"fmt"

	"github.com/esacert/esacert/internal/identity"
)

var _ identity.Store = (*Store)(nil)

// grantsFrom joins each attachment to its custom policy's default version.
const grantsFrom = `SELECT a.policy_type, a.policy_name, COALESCE(v.document, '') FROM ram_attachments a
	LEFT JOIN ram_policies p ON a.policy_type = 'Custom' AND p.name = a.policy_name
	LEFT JOIN ram_policy_versions v ON v.policy_name = p.name AND v.version = p.default_version`

// Grants implements identity.Store: a user's policies are those attached
// to it and to the groups it is in; a role's those attached to it.
func (s *Store) Grants(ctx context.Context, kind, id string) ([]identity.Grant, error) {
	q, args := grantsFrom+` WHERE a.principal_kind = 'role' AND a.principal_id = ?`, []any{id}
	if kind == "user" {
		q, args = grantsFrom+` WHERE (a.principal_kind = 'user' AND a.principal_id = ?) OR (a.principal_kind = 'group'
			AND a.principal_id IN (SELECT group_id FROM ram_group_members WHERE user_id = ?))`, []any{id, id}
	}
	list, err := queryAll(ctx, s, s.db, func(sc scanner) (identity.Grant, error) {
		var g identity.Grant
		err := sc.Scan(&g.PolicyType, &g.PolicyName, &g.Document)
		return g, err
	}, q+` ORDER BY a.policy_type, a.policy_name`, args...)
	if err != nil {
		return nil, fmt.Errorf("read grants of %s %s: %w", kind, id, err)
	}
	return list, nil
}
