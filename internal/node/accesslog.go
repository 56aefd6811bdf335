package node

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/esacert/esacert/internal/accesslog"
	"github.com/esacert/esacert/internal/config"
	"github.com/esacert/esacert/internal/edge"
)

// openAccessLog opens the edge's access log when the configuration names
// one, hands it to e, and opens its file again on every SIGHUP (for
// logrotate) until ctx ends. Shutdown closes it.
func (n *Node) openAccessLog(ctx context.Context, cfg config.Config, e *edge.Edge) error {
	if cfg.AccessLog == "" {
		return nil
	}
	l, err := accesslog.Open(cfg.AccessLog, cfg.AccessLogFraction(), n.log)
	if err != nil {
		return fmt.Errorf("open the access log: %w", err)
	}
	n.accessLog, e.AccessLog = l, l
	if cfg.AccessLog == "-" {
		return nil
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				n.log.Info("SIGHUP: the access log is opened again", "path", cfg.AccessLog)
				l.Reopen()
			}
		}
	}()
	return nil
}
