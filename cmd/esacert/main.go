// Command esacert is a self-hosted edge certificate service that speaks
// Alibaba Cloud ESA's OpenAPI.
//
//	esacert serve [flags]                 start a node (see esacert serve -h)
//	esacert api ACTION [--Name value …]   call the API (see esacert api --help)
//	esacert certs [--json]                list certificates, problems first
//	esacert version                       print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/esacert/esacert/internal/config"
	"github.com/esacert/esacert/internal/node"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], getenv, stderr)
	case "rotate-master-key":
		return rotate(args[1:], getenv, stdout, stderr)
	case "migrate":
		return migrate(args[1:], getenv, stdout, stderr)
	case "api":
		return apiCmd(args[1:], getenv, stdout, stderr)
	case "certs":
		return certsCmd(args[1:], getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "esacert", version)
		return 0
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "esacert: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: esacert <command> [flags]

commands:
  serve               start esacert (API, and the edge when it is enabled)
  api                 call one action of a node's API and print the JSON answer (esacert api --help)
  certs               list the certificates of every site with their days left, problems first
  rotate-master-key   move every private key to a new master key while the nodes run
  migrate             copy the SQLite database into an empty PostgreSQL one (--to postgres://…)
  version             print the version

Run "esacert serve -h" for the flags.
`)
}

func serve(args []string, getenv func(string) string, stderr io.Writer) int {
	cfg, code, ok := load("esacert serve", args, getenv, stderr)
	if !ok {
		return code
	}
	log := newLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	n, err := node.Start(ctx, cfg, log)
	if err != nil {
		log.Error("esacert could not start", "error", err)
		return 1
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-waitChan(n):
		if err != nil {
			log.Error("serving failed", "error", err)
			return 1
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := n.Shutdown(sctx); err != nil {
		log.Error("shutdown", "error", err)
		return 1
	}
	return 0
}

func rotate(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, code, ok := load("esacert rotate-master-key", args, getenv, stderr)
	if !ok {
		return code
	}
	m := newMeter(stderr, isTerminal(stderr, getenv), map[string]string{"reseal": "keys"})
	log := newLogger(cfg, m.Writer())
	res, err := node.RotateMasterKey(context.Background(), cfg, log, m.Update)
	m.Finish()
	if err != nil {
		fmt.Fprintf(stderr, "esacert: rotate-master-key: %v\n", err)
		return 1
	}
	where := "ESACERT_MASTER_KEY"
	if res.Path != "" {
		where = res.Path
	}
	fmt.Fprintf(stdout, "resealed %d private keys; the master key is now %s (in %s); %d running nodes switched to it\n",
		res.Resealed, res.KeyID, where, res.Nodes)
	if cfg.NewMasterKeyFile != "" {
		fmt.Fprintf(stdout, "keep %s in every node's master key file (or ESACERT_MASTER_KEY) from now on\n", res.KeyID)
	}
	return 0
}

func migrate(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, code, ok := load("esacert migrate", args, getenv, stderr)
	if !ok {
		return code
	}
	m := newMeter(stderr, isTerminal(stderr, getenv), map[string]string{"copy": "rows", "check": "rows"})
	tables, err := node.Migrate(context.Background(), cfg, m.Update)
	m.Finish()
	if err != nil {
		fmt.Fprintf(stderr, "esacert: migrate: %v\n", err)
		return 1
	}
	for _, t := range tables {
		fmt.Fprintf(stdout, "%-16s %8d rows  sha256 %s\n", t.Table, t.Rows, t.Fingerprint)
	}
	fmt.Fprintln(stdout, "copied and checked. Start the PostgreSQL nodes with --db set to that database, the same master key")
	fmt.Fprintln(stdout, "(ESACERT_MASTER_KEY or --master-key-file, from "+cfg.DataDir+"/master.key unless you set another) and the")
	fmt.Fprintln(stdout, "root access key (ESACERT_ACCESS_KEY_ID and ESACERT_ACCESS_KEY_SECRET, from "+cfg.DataDir+"/root-access-key).")
	return 0
}

// load reads a command's configuration. When it cannot run, ok is false
// and code is its exit code: 0 after -h, 2 for a bad configuration (said on
// stderr).
func load(name string, args []string, getenv func(string) string, stderr io.Writer) (cfg config.Config, code int, ok bool) {
	cfg, err := config.Load(name, args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return cfg, 0, false
	}
	if err != nil {
		fmt.Fprintf(stderr, "esacert: %v\n", err)
		return cfg, 2, false
	}
	return cfg, 0, true
}

func waitChan(n *node.Node) <-chan error {
	c := make(chan error, 1)
	go func() { c <- n.Wait() }()
	return c
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
