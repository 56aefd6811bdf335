package node

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/esacert/esacert/internal/config"
	"github.com/esacert/esacert/internal/masterkey"
	"github.com/esacert/esacert/internal/store/sqlstore"
)

// RotateMasterKey moves the database, and every node running on it, to a
// new master key without a restart (see masterkey.Rotation): the key named
// by cfg.NewMasterKeyFile, else the newest key of the node's key file when
// the database does not use it yet, else a generated one added to that
// file. It refuses, naming them, while running nodes do not hold the new key.
// progress (nil for none) hears how far the reseal is.
func RotateMasterKey(ctx context.Context, cfg config.Config, log *slog.Logger, progress sqlstore.Progress) (masterkey.Result, error) {
	store, err := sqlstore.Open(ctx, cfg.DB)
	if err != nil {
		return masterkey.Result{}, err
	}
	defer store.Close()
	r := &masterkey.Rotation{Store: store, Source: KeySource(cfg), NewKeyFile: cfg.NewMasterKeyFile, Log: log,
		Progress: progress}
	return r.Run(ctx)
}

// Migrate copies the SQLite database of cfg into the empty PostgreSQL
// database cfg.MigrateTo (schema brought up to date first), checked table
// by table by row count and fingerprint. Private keys move still sealed:
// the PostgreSQL nodes need the same master key. progress (nil for none)
// hears of the rows copied and checked.
func Migrate(ctx context.Context, cfg config.Config, progress sqlstore.Progress) ([]sqlstore.TableCopy, error) {
	if !strings.HasPrefix(cfg.DB, "sqlite:") {
		return nil, errors.New("migrate copies a SQLite database: --db must be sqlite:PATH (the default is the one in --data)")
	}
	if !strings.HasPrefix(cfg.MigrateTo, "postgres://") && !strings.HasPrefix(cfg.MigrateTo, "postgresql://") {
		return nil, errors.New("migrate needs --to postgres://… (the PostgreSQL database to copy into)")
	}
	return sqlstore.Migrate(ctx, cfg.DB, cfg.MigrateTo, progress)
}
