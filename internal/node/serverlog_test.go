package node

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestServerLogIsBounded: what net/http logs of a client's doing (here a
// TLS handshake refused for its 60 KB list of application protocols, as a
// client can make it) becomes one short debug line, cleaned; a server
// message stays at its level.
func TestServerLogIsBounded(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sl := serverLog(l, slog.LevelWarn)
	protocols := strings.Repeat("h2,\x1b[31mevil", 5000)
	sl.Printf("http: TLS handshake error from 127.0.0.1:5555: tls: client requested unsupported application protocols ([%s])", protocols)
	line := buf.String()
	if len(line) > 1024 || strings.Contains(line, "\x1b") || strings.Contains(line, `\u001b`) || !strings.Contains(line, `"level":"DEBUG"`) {
		t.Fatalf("handshake error logged as %d bytes: %.300s", len(line), line)
	}
	buf.Reset()
	sl.Printf("http: Accept error: too many open files; retrying in 5ms")
	if !strings.Contains(buf.String(), `"level":"WARN"`) || !strings.Contains(buf.String(), "Accept error") {
		t.Fatalf("a server message: %s", buf.String())
	}
}

// TestEdgeServerLogSkipsHandshakes: the edge's servers do not log net/http's
// line for a failed TLS handshake (the edge logs each one itself, with its
// outcome), and log the rest as serverLog does.
func TestEdgeServerLogSkipsHandshakes(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sl := edgeServerLog(l, slog.LevelDebug)
	sl.Printf("http: TLS handshake error from 127.0.0.1:5555: EOF")
	if buf.Len() != 0 {
		t.Fatalf("a failed handshake logged by the server: %s", buf.String())
	}
	sl.Printf("http: Accept error: too many open files; retrying in 5ms")
	if !strings.Contains(buf.String(), "Accept error") {
		t.Fatalf("a server message was not logged: %q", buf.String())
	}
}
