package node

import (
	"bytes"
	"context"
	"log"
	"log/slog"
	"strings"

	"github.com/esacert/esacert/internal/redact"
)

// serverLogBound is the most of one net/http server message that is logged:
// such messages quote what a client sent (the application protocols of a
// refused TLS handshake, a malformed request line) and a client chooses
// their size.
const serverLogBound = 512

// serverLog is the ErrorLog of an http.Server: each message cleaned of
// control characters and key material and cut to serverLogBound, logged at
// level; a TLS handshake that failed is the client's doing and is logged at
// debug.
func serverLog(l *slog.Logger, level slog.Level) *log.Logger {
	return log.New(serverLogWriter{log: l, level: level}, "", 0)
}

// edgeServerLog is serverLog for the edge's servers, less net/http's line
// for a TLS handshake that failed: the edge logs each one itself, with its
// outcome (edge.ServeHTTPS).
func edgeServerLog(l *slog.Logger, level slog.Level) *log.Logger {
	return log.New(serverLogWriter{log: l, level: level, skipHandshakes: true}, "", 0)
}

type serverLogWriter struct {
	log            *slog.Logger
	level          slog.Level
	skipHandshakes bool
}

func (w serverLogWriter) Write(p []byte) (int, error) {
	const handshakeError = "http: TLS handshake error"
	if w.skipHandshakes && bytes.HasPrefix(p, []byte(handshakeError)) {
		return len(p), nil
	}
	msg := strings.TrimSpace(string(p))
	level := w.level
	if strings.HasPrefix(msg, handshakeError) {
		level = slog.LevelDebug
	}
	if w.log.Enabled(context.Background(), level) {
		w.log.Log(context.Background(), level, "http server", "message", redact.Clean(msg, serverLogBound))
	}
	return len(p), nil
}
