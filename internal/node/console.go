package node

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/esacert/esacert/internal/config"
	"github.com/esacert/esacert/internal/console"
)

// consoleAPI is the console's way to the node's API server: the server
// once the database is reached; before, sign-ins fail and calls answer no
// JSON, which the console shows as "not available yet".
type consoleAPI struct{ n *Node }

func (a consoleAPI) SignIn(r *http.Request, keyID, secret string) (string, bool, error) {
	s := a.n.apiServer.Load()
	if s == nil {
		return "", false, errNoDatabase
	}
	return s.SignIn(r, keyID, secret)
}

func (a consoleAPI) Invoke(r *http.Request, keyID, version, action string, params url.Values) (int, []byte) {
	s := a.n.apiServer.Load()
	if s == nil {
		return http.StatusServiceUnavailable, nil
	}
	return s.Invoke(r, keyID, version, action, params)
}

var _ console.API = consoleAPI{}

// startConsole binds the web console (cfg.ConsoleAddr), over HTTPS with
// the API's certificate when the API has one.
func (n *Node) startConsole(cfg config.Config) error {
	ln, err := net.Listen("tcp", cfg.ConsoleAddr)
	if err != nil {
		return fmt.Errorf("listen for the console on %s: %w", cfg.ConsoleAddr, err)
	}
	c := &console.Console{API: consoleAPI{n}, Log: n.log}
	rate := n.rate
	rate.Limit = 60 * time.Second
	rate.WriteIdle = -1
	srv := &http.Server{
		Handler:           rate.Handler(c),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          serverLog(n.log, slog.LevelWarn),
	}
	scheme := "http"
	if cfg.APITLSCert != "" {
		pair, err := tls.LoadX509KeyPair(cfg.APITLSCert, cfg.APITLSKey)
		if err != nil {
			ln.Close()
			return fmt.Errorf("load the console's TLS certificate (the API's): %w", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
		scheme = "https"
	}
	n.consoleLn = ln
	n.serve(srv, ln, cfg.APITLSCert != "")
	attrs := []any{"url", scheme + "://" + ln.Addr().String()}
	if scheme == "http" && !loopback(ln.Addr()) {
		n.log.Warn("the console listens without TLS on an address that is not loopback: access key secrets cross the network in clear; set --api-tls-cert and --api-tls-key", attrs...)
	}
	n.log.Info("esacert console listening", attrs...)
	return nil
}

// loopback reports whether addr is a loopback address.
func loopback(addr net.Addr) bool {
	ta, ok := addr.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// ConsoleAddr is the address the console listens on ("" without one).
func (n *Node) ConsoleAddr() string { return addrOf(n.consoleLn) }
