package acme_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/acme"
	"github.com/esacert/esacert/internal/cert"
)

// TestIssuanceAttemptsAreLogged: with the CA down, every attempt of the
// renewer writes one line naming the certificate, the ApplyCode and when
// it is retried (the time GetCertificate's state holds); the success after
// the CA is back writes one line too.
func TestIssuanceAttemptsAreLogged(t *testing.T) {
	env := newRenewEnv(t, "logged.com")
	var buf bytes.Buffer
	opt := cert.RenewOptions{Owner: "test", RetryBase: time.Minute, Log: slog.New(slog.NewJSONHandler(&buf, nil))}
	env.down.Store(true)
	var lines []map[string]any
	read := func() {
		t.Helper()
		if buf.Len() == 0 {
			return
		}
		for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("log line %q: %v", l, err)
			}
			lines = append(lines, m)
		}
		buf.Reset()
	}
	for attempt := 1; attempt <= 2; attempt++ {
		if n, err := env.svc.RenewDue(t.Context(), opt); n != 1 || err != nil {
			t.Fatalf("attempt %d: RenewDue = %d, %v", attempt, n, err)
		}
		read()
		if len(lines) != attempt {
			t.Fatalf("after attempt %d: %d log lines, want one per attempt: %v", attempt, len(lines), lines)
		}
		c, err := env.svc.Certificate(t.Context(), env.site.ID, env.id)
		if err != nil {
			t.Fatal(err)
		}
		got := lines[attempt-1]
		retryAt, _ := time.Parse(time.RFC3339Nano, got["retry_at"].(string))
		want := map[string]any{"level": "WARN", "msg": "free certificate issuance failed", "certificate": env.id,
			"name": "www.logged.com", "ca": "pebble", "attempt": float64(attempt), "code": float64(acme.CodeUnreachable),
			"retry_in": (time.Minute << (attempt - 1)).String()}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("attempt %d: %s = %v, want %v", attempt, k, got[k], v)
			}
		}
		// The store keeps microseconds.
		if got["message"] != c.Free.Message || retryAt.Sub(c.Free.Next).Abs() >= time.Microsecond {
			t.Errorf("attempt %d: message %v, retry_at %v; the certificate says %q, next %v", attempt, got["message"],
				retryAt, c.Free.Message, c.Free.Next)
		}
		env.clk.Set(c.Free.Next.Add(time.Second))
	}
	env.down.Store(false)
	if n, err := env.svc.RenewDue(t.Context(), opt); n != 1 || err != nil {
		t.Fatalf("after the CA is back: RenewDue = %d, %v", n, err)
	}
	read()
	if len(lines) != 3 || lines[2]["msg"] != "issued a free certificate" || lines[2]["level"] != "INFO" {
		t.Fatalf("the success was not logged once: %v", lines[2:])
	}
}
