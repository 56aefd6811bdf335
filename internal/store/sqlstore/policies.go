package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/group"
	"github.com/esacert/esacert/internal/rampolicy"
	"github.com/esacert/esacert/internal/role"
	"github.com/esacert/esacert/internal/user"
)

var (
	_ rampolicy.Store           = (*Store)(nil)
	_ rampolicy.VersionStore    = (*Store)(nil)
	_ rampolicy.AttachmentStore = (*Store)(nil)
	_ rampolicy.TagStore        = (*Store)(nil)
)

func versionID(n int) string { return "v" + strconv.Itoa(n) }

// versionNumber reads a version id (v3) as its number; 0 when it is none.
func versionNumber(id string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(id, "v"))
	if err != nil || !strings.HasPrefix(id, "v") {
		return 0
	}
	return n
}

const policyColumns = `p.name, p.description, p.default_version, p.created_us, p.updated_us,
	(SELECT COUNT(*) FROM ram_attachments a WHERE a.policy_type = 'Custom' AND a.policy_name = p.name)`

func scanPolicy(sc scanner) (rampolicy.Policy, error) {
	var (
		p                rampolicy.Policy
		def              int
		created, updated int64
	)
	if err := sc.Scan(&p.Name, &p.Description, &def, &created, &updated, &p.AttachmentCount); err != nil {
		return rampolicy.Policy{}, err
	}
	p.Type, p.DefaultVersion = rampolicy.TypeCustom, versionID(def)
	p.Created, p.Updated = fromMicros(created), fromMicros(updated)
	return p, nil
}

// CreatePolicy implements rampolicy.Store.
func (s *Store) CreatePolicy(ctx context.Context, p rampolicy.Policy, v rampolicy.Version, max int) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if max > 0 {
			if s.dialect == Postgres {
				if _, err := tx.ExecContext(ctx, `LOCK TABLE ram_policies IN SHARE ROW EXCLUSIVE MODE`); err != nil {
					return err
				}
			}
			if n, err := count(ctx, s, tx, `SELECT COUNT(*) FROM ram_policies`); err != nil {
				return fmt.Errorf("count policies: %w", err)
			} else if n >= max {
				return rampolicy.ErrPolicyLimit
			}
		}
		_, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO ram_policies (name, description, default_version, last_version,
			created_us, updated_us) VALUES (?, ?, 1, 1, ?, ?)`), p.Name, p.Description, micros(p.Created), micros(p.Updated))
		if violation(err) != "" {
			return rampolicy.ErrPolicyExists
		}
		if err != nil {
			return fmt.Errorf("insert policy: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO ram_policy_versions (policy_name, version, document, created_us)
			VALUES (?, 1, ?, ?)`), p.Name, v.Document, micros(v.Created)); err != nil {
			return fmt.Errorf("insert policy version: %w", err)
		}
		return s.writeTags(ctx, tx, rampolicy.TagKind, p.Name, p.Tags)
	})
}

// Policy implements rampolicy.Store.
func (s *Store) Policy(ctx context.Context, name string) (rampolicy.Policy, rampolicy.Version, error) {
	var (
		p rampolicy.Policy
		v rampolicy.Version
	)
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		p, err = scanPolicy(tx.QueryRowContext(ctx, s.rebind(`SELECT `+policyColumns+` FROM ram_policies p WHERE p.name = ?`), name))
		if errors.Is(err, sql.ErrNoRows) {
			return rampolicy.ErrPolicyNotFound
		}
		if err != nil {
			return fmt.Errorf("read policy %s: %w", name, err)
		}
		if v, err = s.version(ctx, tx, name, versionNumber(p.DefaultVersion), versionNumber(p.DefaultVersion)); err != nil {
			return err
		}
		tags, err := s.readTags(ctx, tx, rampolicy.TagKind, []string{name})
		p.Tags = tags[name]
		return err
	})
	return p, v, err
}

// version reads version n of a policy whose default is def.
func (s *Store) version(ctx context.Context, q rowQuerier, name string, n, def int) (rampolicy.Version, error) {
	var (
		v       rampolicy.Version
		created int64
	)
	err := q.QueryRowContext(ctx, s.rebind(`SELECT document, created_us FROM ram_policy_versions WHERE policy_name = ? AND version = ?`),
		name, n).Scan(&v.Document, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return v, rampolicy.ErrVersionNotFound
	}
	if err != nil {
		return v, fmt.Errorf("read policy %s version %d: %w", name, n, err)
	}
	v.ID, v.Default, v.Created = versionID(n), n == def, fromMicros(created)
	return v, nil
}

// ListPolicies implements rampolicy.Store.
func (s *Store) ListPolicies(ctx context.Context, m domain.Marker) ([]rampolicy.Policy, error) {
	var out []rampolicy.Policy
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = queryAll(ctx, s, tx, scanPolicy, `SELECT `+policyColumns+` FROM ram_policies p WHERE p.name > ?
			ORDER BY p.name LIMIT ?`, m.After, m.Limit+1)
		if err != nil || len(out) == 0 {
			return err
		}
		var names []string
		for _, p := range out {
			names = append(names, p.Name)
		}
		tags, err := s.readTags(ctx, tx, rampolicy.TagKind, names)
		for i := range out {
			out[i].Tags = tags[out[i].Name]
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list policies: %w", err)
	}
	return out, nil
}

// SetDescription implements rampolicy.Store.
func (s *Store) SetDescription(ctx context.Context, name, description string, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE ram_policies SET description = ?, updated_us = ? WHERE name = ?`),
			description, micros(now), name)
		if err != nil {
			return fmt.Errorf("update policy: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return rampolicy.ErrPolicyNotFound
		}
		return nil
	})
}

// lockPolicy locks a custom policy's row until tx ends and returns its
// default and last version numbers, or ErrPolicyNotFound.
func (s *Store) lockPolicy(ctx context.Context, tx *sql.Tx, name string) (def, last int, err error) {
	err = tx.QueryRowContext(ctx, s.rebind(`SELECT default_version, last_version FROM ram_policies WHERE name = ?`+s.forUpdate),
		name).Scan(&def, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, rampolicy.ErrPolicyNotFound
	}
	if err != nil {
		return 0, 0, fmt.Errorf("read policy %s: %w", name, err)
	}
	return def, last, nil
}

// DeletePolicy implements rampolicy.Store.
func (s *Store) DeletePolicy(ctx context.Context, name string, cascade bool) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, _, err := s.lockPolicy(ctx, tx, name); err != nil {
			return err
		}
		for _, c := range []struct {
			kind string
			err  error
		}{{"user", rampolicy.ErrAttachedToUser}, {"group", rampolicy.ErrAttachedToGroup}, {"role", rampolicy.ErrAttachedToRole}} {
			if found, err := exists(ctx, s, tx, `SELECT 1 FROM ram_attachments WHERE policy_type = 'Custom' AND policy_name = ?
				AND principal_kind = ? LIMIT 1`, name, c.kind); err != nil {
				return fmt.Errorf("check policy %s: %w", name, err)
			} else if found {
				return c.err
			}
		}
		if n, err := count(ctx, s, tx, `SELECT COUNT(*) FROM ram_policy_versions WHERE policy_name = ?`, name); err != nil {
			return fmt.Errorf("count policy versions: %w", err)
		} else if n > 1 && !cascade {
			return rampolicy.ErrHasVersions
		}
		for _, q := range []string{`DELETE FROM ram_policy_versions WHERE policy_name = ?`, `DELETE FROM ram_policies WHERE name = ?`,
			`DELETE FROM ram_tags WHERE kind = 'policy' AND name = ?`} {
			if _, err := tx.ExecContext(ctx, s.rebind(q), name); err != nil {
				return fmt.Errorf("delete policy: %w", err)
			}
		}
		return nil
	})
}

// AttachmentCount implements rampolicy.Store.
func (s *Store) AttachmentCount(ctx context.Context, policyType, name string) (int, error) {
	return count(ctx, s, s.db, `SELECT COUNT(*) FROM ram_attachments WHERE policy_type = ? AND policy_name = ?`, policyType, name)
}

// CreateVersion implements rampolicy.VersionStore.
func (s *Store) CreateVersion(ctx context.Context, name string, v rampolicy.Version, setDefault, rotate bool, max int) (rampolicy.Version, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		def, last, err := s.lockPolicy(ctx, tx, name)
		if err != nil {
			return err
		}
		n, err := count(ctx, s, tx, `SELECT COUNT(*) FROM ram_policy_versions WHERE policy_name = ?`, name)
		if err != nil {
			return fmt.Errorf("count policy versions: %w", err)
		}
		if max > 0 && n >= max {
			if !rotate {
				return rampolicy.ErrVersionLimit
			}
			if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM ram_policy_versions WHERE policy_name = ? AND version = (
				SELECT MIN(version) FROM ram_policy_versions WHERE policy_name = ? AND version <> ?)`), name, name, def); err != nil {
				return fmt.Errorf("delete oldest policy version: %w", err)
			}
		}
		next := last + 1
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO ram_policy_versions (policy_name, version, document, created_us)
			VALUES (?, ?, ?, ?)`), name, next, v.Document, micros(v.Created)); err != nil {
			return fmt.Errorf("insert policy version: %w", err)
		}
		if setDefault {
			def = next
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE ram_policies SET last_version = ?, default_version = ?, updated_us = ?
			WHERE name = ?`), next, def, micros(v.Created), name); err != nil {
			return fmt.Errorf("update policy: %w", err)
		}
		v.ID, v.Default = versionID(next), setDefault
		if setDefault {
			return s.bumpRAM(ctx, tx)
		}
		return nil
	})
	return v, err
}

// Version implements rampolicy.VersionStore.
func (s *Store) Version(ctx context.Context, name, id string) (rampolicy.Version, error) {
	var v rampolicy.Version
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var def int
		err := tx.QueryRowContext(ctx, s.rebind(`SELECT default_version FROM ram_policies WHERE name = ?`), name).Scan(&def)
		if errors.Is(err, sql.ErrNoRows) {
			return rampolicy.ErrPolicyNotFound
		}
		if err != nil {
			return fmt.Errorf("read policy %s: %w", name, err)
		}
		v, err = s.version(ctx, tx, name, versionNumber(id), def)
		return err
	})
	return v, err
}

// Versions implements rampolicy.VersionStore.
func (s *Store) Versions(ctx context.Context, name string) ([]rampolicy.Version, error) {
	var out []rampolicy.Version
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var def int
		err := tx.QueryRowContext(ctx, s.rebind(`SELECT default_version FROM ram_policies WHERE name = ?`), name).Scan(&def)
		if errors.Is(err, sql.ErrNoRows) {
			return rampolicy.ErrPolicyNotFound
		}
		if err != nil {
			return fmt.Errorf("read policy %s: %w", name, err)
		}
		out, err = queryAll(ctx, s, tx, func(sc scanner) (rampolicy.Version, error) {
			var (
				v       rampolicy.Version
				n       int
				created int64
			)
			if err := sc.Scan(&n, &v.Document, &created); err != nil {
				return v, err
			}
			v.ID, v.Default, v.Created = versionID(n), n == def, fromMicros(created)
			return v, nil
		}, `SELECT version, document, created_us FROM ram_policy_versions WHERE policy_name = ? ORDER BY version DESC`, name)
		return err
	})
	return out, err
}

// DeleteVersion implements rampolicy.VersionStore.
func (s *Store) DeleteVersion(ctx context.Context, name, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		def, _, err := s.lockPolicy(ctx, tx, name)
		if err != nil {
			return err
		}
		n := versionNumber(id)
		if n == def {
			return rampolicy.ErrDefaultVersion
		}
		res, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM ram_policy_versions WHERE policy_name = ? AND version = ?`), name, n)
		if err != nil {
			return fmt.Errorf("delete policy version: %w", err)
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return rampolicy.ErrVersionNotFound
		}
		return nil
	})
}

// SetDefaultVersion implements rampolicy.VersionStore.
func (s *Store) SetDefaultVersion(ctx context.Context, name, id string, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, _, err := s.lockPolicy(ctx, tx, name); err != nil {
			return err
		}
		n := versionNumber(id)
		if found, err := exists(ctx, s, tx, `SELECT 1 FROM ram_policy_versions WHERE policy_name = ? AND version = ?`, name, n); err != nil {
			return fmt.Errorf("read policy version: %w", err)
		} else if !found {
			return rampolicy.ErrVersionNotFound
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE ram_policies SET default_version = ?, updated_us = ? WHERE name = ?`),
			n, micros(now), name); err != nil {
			return fmt.Errorf("update policy: %w", err)
		}
		return s.bumpRAM(ctx, tx)
	})
}

// attachErrors are Attach's and Detach's errors per kind of principal.
var attachErrors = map[string]struct{ attached, notAttached, limit error }{
	"user":  {rampolicy.ErrUserAttached, rampolicy.ErrUserNotAttached, rampolicy.ErrUserPolicyLimit},
	"group": {rampolicy.ErrGroupAttached, rampolicy.ErrGroupNotAttached, rampolicy.ErrGroupPolicyLimit},
	"role":  {rampolicy.ErrRoleAttached, rampolicy.ErrRoleNotAttached, rampolicy.ErrRolePolicyLimit},
}

// Attach implements rampolicy.AttachmentStore.
func (s *Store) Attach(ctx context.Context, policyType, policyName, kind, principal string, max int, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		pid, err := s.principalID(ctx, tx, kind, principal)
		if err != nil {
			return err
		}
		if policyType == rampolicy.TypeCustom {
			if _, _, err := s.lockPolicy(ctx, tx, policyName); err != nil {
				return err
			}
		}
		if found, err := exists(ctx, s, tx, `SELECT 1 FROM ram_attachments WHERE principal_kind = ? AND principal_id = ?
			AND policy_type = ? AND policy_name = ?`, kind, pid, policyType, policyName); err != nil {
			return fmt.Errorf("check attachment: %w", err)
		} else if found {
			return attachErrors[kind].attached
		}
		if n, err := count(ctx, s, tx, `SELECT COUNT(*) FROM ram_attachments WHERE principal_kind = ? AND principal_id = ?
			AND policy_type = ?`, kind, pid, policyType); err != nil {
			return fmt.Errorf("count attachments: %w", err)
		} else if max > 0 && n >= max {
			return attachErrors[kind].limit
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO ram_attachments (principal_kind, principal_id, policy_type,
			policy_name, attached_us) VALUES (?, ?, ?, ?, ?)`), kind, pid, policyType, policyName, micros(now)); err != nil {
			return fmt.Errorf("attach policy: %w", err)
		}
		return s.bumpRAM(ctx, tx)
	})
}

// Detach implements rampolicy.AttachmentStore.
func (s *Store) Detach(ctx context.Context, policyType, policyName, kind, principal string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		pid, err := s.principalID(ctx, tx, kind, principal)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM ram_attachments WHERE principal_kind = ? AND principal_id = ?
			AND policy_type = ? AND policy_name = ?`), kind, pid, policyType, policyName)
		if err != nil {
			return fmt.Errorf("detach policy: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return attachErrors[kind].notAttached
		}
		return s.bumpRAM(ctx, tx)
	})
}

// PoliciesOf implements rampolicy.AttachmentStore.
func (s *Store) PoliciesOf(ctx context.Context, kind, principal string) ([]rampolicy.Attached, error) {
	var out []rampolicy.Attached
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var table string
		var notFound error
		switch kind {
		case "user":
			table, notFound = "ram_users", user.ErrUserNotFound
		case "group":
			table, notFound = "ram_groups", group.ErrGroupNotFound
		case "role":
			table, notFound = "ram_roles", role.ErrRoleNotFound
		default:
			return fmt.Errorf("unknown principal kind %q", kind)
		}
		var pid string
		err := tx.QueryRowContext(ctx, s.rebind(`SELECT id FROM `+table+` WHERE name = ?`), principal).Scan(&pid)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound
		}
		if err != nil {
			return fmt.Errorf("read %s %s: %w", kind, principal, err)
		}
		out, err = queryAll(ctx, s, tx, func(sc scanner) (rampolicy.Attached, error) {
			var (
				a        rampolicy.Attached
				desc     sql.NullString
				def      sql.NullInt64
				attached int64
			)
			if err := sc.Scan(&a.Type, &a.Name, &desc, &def, &attached); err != nil {
				return a, err
			}
			a.Description, a.Attached = desc.String, fromMicros(attached)
			if def.Valid {
				a.DefaultVersion = versionID(int(def.Int64))
			}
			return a, nil
		}, `SELECT a.policy_type, a.policy_name, p.description, p.default_version, a.attached_us FROM ram_attachments a
			LEFT JOIN ram_policies p ON a.policy_type = 'Custom' AND p.name = a.policy_name
			WHERE a.principal_kind = ? AND a.principal_id = ? ORDER BY a.policy_type DESC, a.policy_name`, kind, pid)
		return err
	})
	return out, err
}

// Entities implements rampolicy.AttachmentStore.
func (s *Store) Entities(ctx context.Context, policyType, policyName string) ([]rampolicy.Entity, error) {
	var out []rampolicy.Entity
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			`SELECT 'user', u.id, u.name, u.display_name, '', '', a.attached_us FROM ram_attachments a JOIN ram_users u ON u.id = a.principal_id
				WHERE a.principal_kind = 'user' AND a.policy_type = ? AND a.policy_name = ? ORDER BY u.name`,
			`SELECT 'group', g.id, g.name, '', g.comments, '', a.attached_us FROM ram_attachments a JOIN ram_groups g ON g.id = a.principal_id
				WHERE a.principal_kind = 'group' AND a.policy_type = ? AND a.policy_name = ? ORDER BY g.name`,
			`SELECT 'role', r.id, r.name, '', '', r.description, a.attached_us FROM ram_attachments a JOIN ram_roles r ON r.id = a.principal_id
				WHERE a.principal_kind = 'role' AND a.policy_type = ? AND a.policy_name = ? ORDER BY r.name`,
		} {
			list, err := queryAll(ctx, s, tx, func(sc scanner) (rampolicy.Entity, error) {
				var (
					e        rampolicy.Entity
					attached int64
				)
				err := sc.Scan(&e.Kind, &e.ID, &e.Name, &e.DisplayName, &e.Comments, &e.Description, &attached)
				e.Attached = fromMicros(attached)
				return e, err
			}, q, policyType, policyName)
			if err != nil {
				return fmt.Errorf("list entities of policy %s: %w", policyName, err)
			}
			out = append(out, list...)
		}
		return nil
	})
	return out, err
}
