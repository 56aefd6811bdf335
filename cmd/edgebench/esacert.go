//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/keyseal"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/store/sqlstore"
)

// buildEsacert builds ./cmd/esacert into dir, as a user runs it: a binary
// of its own (the node's memory is then a whole node's, apart from the
// harness).
func buildEsacert(dir string) (string, error) {
	bin := filepath.Join(dir, "esacert")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/esacert/esacert/cmd/esacert")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/esacert (run the harness inside the repository, or give -esacert): %v\n%s", err, out)
	}
	return bin, nil
}

// seedEsacert makes dataDir an esacert data directory holding certs, as
// after a bulk import: a master key, and a SQLite database with a site per
// certificate (active, on the default plan) and the certificate, its key
// sealed. It goes through the store's Import (the path migrations and
// large test data take), not the API: the API would add a request and a
// quota check per certificate and leave the sites pending ownership
// checks, and the measurement is of serving, not of uploading (see the
// README's benchmarks for the API's upload rate).
func seedEsacert(ctx context.Context, dataDir string, certs []leafCert, now time.Time) error {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	mk, err := keyseal.Generate()
	if err != nil {
		return err
	}
	if err := keyseal.WriteFile(filepath.Join(dataDir, "master.key"), mk); err != nil {
		return err
	}
	sealer, err := keyseal.New(mk)
	if err != nil {
		return err
	}
	store, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(dataDir, "esacert.db"))
	if err != nil {
		return err
	}
	defer store.Close()
	svc := &site.Service{Store: store}
	if err := svc.EnsureDefaultInstance(ctx); err != nil {
		return err
	}
	instance, err := svc.DefaultInstanceID()
	if err != nil {
		return err
	}
	sites := make([]site.Site, len(certs))
	rows := make([]cert.Certificate, len(certs))
	err = parallel(len(certs), func(i int) error {
		c := certs[i]
		p, err := certcheck.Check(c.ChainPEM, c.KeyPEM, now)
		if err != nil {
			return fmt.Errorf("%s: %w", c.Name, err)
		}
		sites[i] = site.Site{ID: int64(1_000_000_000_000 + i), Name: siteName(i), AccessType: "NS", Coverage: "overseas",
			Status: site.SiteActive, InstanceID: instance, VerifyCode: "edgebench", Created: now, Updated: now}
		id := fmt.Sprintf("%032x", i+1)
		sealed, err := cert.SealKey(sealer, id, []byte(c.KeyPEM))
		if err != nil {
			return err
		}
		rows[i] = cert.Certificate{ID: id, SiteID: sites[i].ID, Name: "edgebench", Type: cert.TypeUpload,
			CertPEM: c.ChainPEM, ChainPEM: c.ChainPEM, SealedKey: sealed, Info: p.Info, Created: now, Updated: now}
		return nil
	})
	if err != nil {
		return err
	}
	return store.Import(ctx, sites, rows)
}

// startEsacert starts an esacert node (every role: API, edge, renewer) on
// dataDir, its edge's HTTPS on addr, other listeners on free loopback
// ports, HTTP/3 off, its operator's listener (/debug/pprof/) on
// metricsAddr when that is set. Settings from the harness's environment
// (ESACERT_*) are not passed on.
func startEsacert(bin, dataDir, addr, metricsAddr, logFile string) (*proc, error) {
	api, err := freeAddr()
	if err != nil {
		return nil, err
	}
	plain, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--data", dataDir, "--api-addr", api, "--https-addr", addr, "--http-addr", plain,
		"--http3-addr", "off", "--log-format", "text"}
	if metricsAddr != "" {
		args = append(args, "--metrics-addr", metricsAddr)
	}
	return startProc("esacert", bin, args, cleanEnv(), logFile)
}

// cleanEnv is the environment without esacert's own settings.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ESACERT_") {
			env = append(env, kv)
		}
	}
	return env
}
