package node

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/config"
)

// checkSettings reports what is wrong with cfg that can be told without the
// database, and without creating anything: the configuration's own rules,
// the master key a PostgreSQL node needs, a master key given but unreadable,
// the directory of a SQLite database outside the data directory, the API's
// TLS certificate, the notification channels and the ACME settings.
func checkSettings(cfg config.Config, log *slog.Logger) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	sqlitePath, onSQLite := strings.CutPrefix(cfg.DB, "sqlite:")
	if cfg.MasterKey == "" && cfg.MasterKeyFile == "" && !onSQLite {
		if _, err := os.Stat(filepath.Join(cfg.DataDir, MasterKeyFile)); err != nil {
			return errors.New("on PostgreSQL every node must share one master key: set --master-key-file or ESACERT_MASTER_KEY")
		}
	}
	if cfg.MasterKey != "" || cfg.MasterKeyFile != "" {
		if _, _, err := KeySource(cfg).Load(false); err != nil {
			return err
		}
	}
	if onSQLite {
		dir, _ := filepath.Abs(filepath.Dir(sqlitePath))
		data, _ := filepath.Abs(cfg.DataDir)
		if dir != data {
			if st, err := os.Stat(dir); err != nil || !st.IsDir() {
				return fmt.Errorf("--db %s: the directory of the SQLite database does not exist (only --data is created)", cfg.DB)
			}
		}
	}
	if cfg.Has("api") && cfg.APITLSCert != "" {
		if _, err := tls.LoadX509KeyPair(cfg.APITLSCert, cfg.APITLSKey); err != nil {
			return fmt.Errorf("load the API's TLS certificate: %w", err)
		}
	}
	if _, err := notifyChannels(cfg); err != nil {
		return err
	}
	return setupIssuer(cfg, &cert.Service{}, nil, log)
}
