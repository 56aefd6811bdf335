package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/esacert/esacert/internal/acme"
	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/config"
	"github.com/esacert/esacert/internal/store/sqlstore"
)

// setupIssuer gives the service its ACME issuer and free-certificate store.
func setupIssuer(cfg config.Config, svc *cert.Service, store *sqlstore.Store, log *slog.Logger) error {
	dirs, err := cfg.ACMEDirectories()
	if err != nil {
		return err
	}
	iss := &acme.Issuer{CAs: map[string]acme.CA{}, Email: cfg.ACMEEmail, Challenges: store,
		Accounts: cert.AccountKeys{Store: store, Sealer: svc.Sealer}}
	iss.Types = config.List(cfg.ACMEChallenges)
	if cfg.ACMEDNSProvider != "" {
		if iss.DNS, err = acme.NewDNSProvider(cfg.ACMEDNSProvider); err != nil {
			return fmt.Errorf("--acme-dns-provider: %w", err)
		}
	}
	if resolvers := config.List(cfg.ACMEDNSResolvers); len(resolvers) > 0 {
		acme.UseResolvers(resolvers)
		iss.DNSResolversOnly = true
	}
	eabs, err := cfg.ACMEBindings()
	if err != nil {
		return err
	}
	for name, url := range dirs {
		iss.CAs[name] = acme.CA{Directory: url, EABKeyID: eabs[name].KeyID, EABHMAC: eabs[name].HMAC}
	}
	if cfg.ACMECARoots != "" {
		pemRoots, err := os.ReadFile(cfg.ACMECARoots)
		if err != nil {
			return fmt.Errorf("--acme-ca-roots: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemRoots) {
			return fmt.Errorf("--acme-ca-roots: %s holds no PEM certificate", cfg.ACMECARoots)
		}
		iss.HTTPClient = &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool}, ResponseHeaderTimeout: 30 * time.Second}}
	}
	acme.UseLogger(log.With("component", "acme"))
	svc.Frees, svc.Issuer, svc.Challenges, svc.Kick = store, iss, store, make(chan struct{}, 1)
	svc.Log = func(msg, id string, err error) { log.Warn(msg, "certificate", id, "error", err) }
	return nil
}

// renew runs the renewer (cert.Service.RunRenewer) with the node's settings.
func (n *Node) renew(ctx context.Context, cfg config.Config, svc *cert.Service) {
	host, _ := os.Hostname()
	opt := cert.RenewOptions{Owner: fmt.Sprintf("%s/%d/%p", host, os.Getpid(), n), KeyType: cfg.FreeCertKeyType,
		RetryBase: config.Duration(cfg.RetryBase), RSATwin: cfg.FreeCertRSATwin, Log: n.log}
	if n.metrics != nil {
		opt.Observer = n.metrics
	}
	n.log.Info("renewer started", "owner", opt.Owner, "poll", cfg.RenewPoll)
	svc.RunRenewer(ctx, opt, config.Duration(cfg.RenewPoll))
}
