package node

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/config"
	"github.com/esacert/esacert/internal/masterkey"
	"github.com/esacert/esacert/internal/store/sqlstore"
)

// rootKey returns the root access key: from the environment when given,
// else from the key file in the data directory, generated on first start.
func rootKey(cfg config.Config, log *slog.Logger) (accesskey.Key, error) {
	if cfg.AccessKeyID != "" {
		return accesskey.Key{ID: cfg.AccessKeyID, Secret: cfg.AccessKeySecret}, nil
	}
	path := filepath.Join(cfg.DataDir, RootKeyFile)
	k, created, err := accesskey.LoadOrCreate(path, nil)
	if err != nil {
		return accesskey.Key{}, err
	}
	if created {
		log.Info("created the root access key; its id and secret are in the file", "file", path, "access_key_id", k.ID)
	} else {
		log.Info("using the root access key", "file", path, "access_key_id", k.ID)
	}
	return k, nil
}

// MasterKeyFile is the name of the master key file in the data directory.
const MasterKeyFile = "master.key"

// KeySource is where cfg's master keys come from: ESACERT_MASTER_KEY, else
// the --master-key-file, else master.key in the data directory (generated
// on first start).
func KeySource(cfg config.Config) masterkey.Source {
	switch {
	case cfg.MasterKey != "":
		return masterkey.Source{Env: cfg.MasterKey}
	case cfg.MasterKeyFile != "":
		return masterkey.Source{File: cfg.MasterKeyFile}
	}
	return masterkey.Source{File: filepath.Join(cfg.DataDir, MasterKeyFile), Default: true}
}

// selfInfo is how a node reports itself in the database's node list.
func selfInfo(cfg config.Config) sqlstore.NodeInfo {
	host, _ := os.Hostname()
	var id [8]byte
	rand.Read(id[:])
	return sqlstore.NodeInfo{ID: hex.EncodeToString(id[:]), Host: host, PID: os.Getpid(), Roles: cfg.Roles, Started: time.Now()}
}
