package node

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/config"
	"github.com/esacert/esacert/internal/notify"
	"github.com/esacert/esacert/internal/pkitest"
)

// syncBuffer is a log sink safe for the node's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestNoticesReachAWebhook: a node with a webhook in its notify list tells
// it, signed, when a certificate uploaded through the API is within 14
// days of expiring; the node's log names the channel, never its URL's
// token or its secret.
func TestNoticesReachAWebhook(t *testing.T) {
	const token, secret = "tok-node-5e1f07c2", "whsec-node-93ab4d10"
	got := make(chan notify.Notice, 10)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(r.Header.Get("X-Esacert-Timestamp") + "."))
		m.Write(body)
		if r.URL.Path != "/hooks/"+token || r.Header.Get("X-Esacert-Signature") != "sha256="+hex.EncodeToString(m.Sum(nil)) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var n notify.Notice
		json.Unmarshal(body, &n)
		got <- n
	}))
	defer recv.Close()
	cfg := testConfig(t)
	cfg.NotifyPoll = "50ms"
	cfg.Notify = []config.NotifyChannel{{Name: "ops", Type: "webhook", URL: recv.URL + "/hooks/" + token, Secret: secret}}
	var logs syncBuffer
	n, err := Start(t.Context(), cfg, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, n)
	now := time.Now()
	ca := pkitest.NewCA(t, "Notify Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	leaf := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.notify-me.com"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(10 * 24 * time.Hour)})
	siteID := jsonNumber(call(t, n, "2024-09-10", "CreateSite", map[string]string{"SiteName": "notify-me.com"})["SiteId"])
	id := call(t, n, "2024-09-10", "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload",
		"Certificate": leaf.ChainPEM, "PrivateKey": leaf.KeyPEM})["Id"].(string)
	select {
	case notice := <-got:
		if notice.Event != notify.EventExpiring || notice.ThresholdDays != 14 || notice.CertificateID != id || notice.SiteName != "notify-me.com" {
			t.Errorf("the webhook got %+v", notice)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no notice reached the webhook; the log:\n%s", logs.String())
	}
	stop(t, n)
	log := logs.String()
	if !strings.Contains(log, `"msg":"notice delivered","component":"notify","channel":"ops"`) {
		t.Errorf("the log does not say the notice was delivered:\n%s", log)
	}
	if strings.Contains(log, token) || strings.Contains(log, secret) {
		t.Errorf("the log holds the webhook's token or secret:\n%s", log)
	}
}
