package notify_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/notify"
	"github.com/esacert/esacert/internal/webhook"
	"github.com/google/go-cmp/cmp"
)

// summary is what a test compares of a notice.
type summary struct {
	Event     string
	Cert      string
	Threshold int
}

func summarize(ns []notify.Notice) []summary {
	var out []summary
	for _, n := range ns {
		out = append(out, summary{n.Event, n.CertificateID, n.ThresholdDays})
	}
	return out
}

// TestThresholds moves a fake clock through an uploaded certificate's last
// month: it is noticed once as it enters each of its last 30, 14, 7 and 1
// days and once when it expires, whatever the number of looks in between;
// replaced in place, it is noticed afresh.
func TestThresholds(t *testing.T) {
	dialects(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		r := newReceiver(t, "whsec-thresholds", nil)
		s := e.service(0, r.channel(t, "ops", e.clk))
		notAfter := t0.Add(45 * day)
		id := e.upload(t, "www.example.com", notAfter, "")

		steps := []struct {
			at   time.Time
			want int // notices recorded at that time
		}{
			{t0, 0},
			{notAfter.Add(-30*day - time.Minute), 0},
			{notAfter.Add(-30 * day), 1},
			{notAfter.Add(-20 * day), 0},
			{notAfter.Add(-14*day + time.Hour), 1},
			{notAfter.Add(-8 * day), 0},
			{notAfter.Add(-3 * day), 1},
			{notAfter.Add(-23 * time.Hour), 1},
			{notAfter.Add(-time.Hour), 0},
			{notAfter, 1},
			{notAfter.Add(6 * day), 0},
			{notAfter.Add(8 * day), 0},
		}
		for _, st := range steps {
			e.clk.Set(st.at)
			for look := range 2 { // a second look finds nothing new
				detected, _ := round(t, s)
				if want := st.want * (1 - look); detected != want {
					t.Fatalf("at %s (look %d): %d notices recorded, want %d", st.at, look+1, detected, want)
				}
			}
		}
		want := []summary{{notify.EventExpiring, id, 30}, {notify.EventExpiring, id, 14}, {notify.EventExpiring, id, 7},
			{notify.EventExpiring, id, 1}, {notify.EventExpired, id, 0}}
		got := r.taken(t)
		if diff := cmp.Diff(want, summarize(got)); diff != "" {
			t.Fatalf("notices taken (-want +got):\n%s", diff)
		}
		if n := got[1]; n.SiteName != "example.com" || !strings.HasPrefix(n.CertificateName, "www.example.com") || n.CertificateType != cert.TypeUpload ||
			!n.NotAfter.Equal(notAfter) || !strings.Contains(n.Title, "expires within 14 days") {
			t.Errorf("the 14-day notice: %+v", n)
		}

		// A renewed certificate uploaded in its place starts over.
		e.upload(t, "www.example.com", e.clk.Now().Add(10*day), id)
		if detected, delivered := round(t, s); detected != 1 || delivered != 1 {
			t.Fatalf("after the replacement: %d recorded, %d delivered; want 1 and 1", detected, delivered)
		}
		if last := r.taken(t)[5]; last.ThresholdDays != 14 || last.CertificateID != id {
			t.Errorf("after the replacement: %+v", last)
		}
	})
}

// TestFailureAndRecovery drives the real renewer with a CA that refuses: a
// free certificate that cannot be issued is noticed once per failure
// episode, with the ApplyCode and ApplyMessage the renewer recorded, and
// noticed again when it is issued; a renewal that fails later is a new
// episode.
func TestFailureAndRecovery(t *testing.T) {
	e := newEnv(t, "sqlite:"+t.TempDir()+"/esacert.db")
	r := newReceiver(t, "whsec-failures", nil)
	s := e.service(0, r.channel(t, "ops", e.clk))
	opt := cert.RenewOptions{Owner: "renewer"}
	caa := &cert.IssueError{Err: cert.ErrIssuance, Code: 7,
		Message: `the CAA record of example.com does not allow lets_encrypt: add 0 issue "letsencrypt.org"`}
	e.issuer.setFail(caa)
	applied, _, err := e.certs.ApplyCertificate(t.Context(), e.site.ID, "www.example.com", "lets_encrypt")
	if err != nil {
		t.Fatal(err)
	}
	id := applied[0].ID
	if n, err := e.certs.RenewDue(t.Context(), opt); n != 1 || err != nil {
		t.Fatalf("RenewDue = %d, %v", n, err)
	}
	if detected, delivered := round(t, s); detected != 1 || delivered != 1 {
		t.Fatalf("after the failure: %d recorded, %d delivered; want 1 and 1", detected, delivered)
	}
	failed := r.taken(t)[0]
	if failed.Event != notify.EventFailed || failed.ApplyCode != 7 || failed.ApplyMessage != caa.Message || failed.Attempts != 1 ||
		failed.CA != "lets_encrypt" || failed.NextAttempt.IsZero() || !strings.Contains(failed.Title, "could not be issued") ||
		!strings.Contains(failed.Text, caa.Message) {
		t.Errorf("failure notice: %+v", failed)
	}

	// The next attempt fails too: the same episode, nothing new.
	e.clk.Advance(2 * time.Minute)
	if n, _ := e.certs.RenewDue(t.Context(), opt); n != 1 {
		t.Fatalf("RenewDue = %d", n)
	}
	if detected, _ := round(t, s); detected != 0 {
		t.Fatalf("a second failure in a row recorded %d notices", detected)
	}

	// The operator fixes CAA; the next attempt succeeds.
	e.issuer.setFail(nil)
	e.clk.Advance(5 * time.Minute)
	if n, _ := e.certs.RenewDue(t.Context(), opt); n != 1 {
		t.Fatalf("RenewDue = %d", n)
	}
	if detected, delivered := round(t, s); detected != 1 || delivered != 1 {
		t.Fatalf("after the recovery: %d recorded, %d delivered; want 1 and 1", detected, delivered)
	}
	issued, err := e.certs.Certs.Certificate(t.Context(), e.site.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	rec := r.taken(t)[1]
	if rec.Event != notify.EventRecovered || !rec.NotAfter.Equal(issued.Info.NotAfter) || !strings.Contains(rec.Title, "issued again") {
		t.Errorf("recovery notice: %+v", rec)
	}
	if detected, _ := round(t, s); detected != 0 {
		t.Fatalf("a second look after the recovery recorded %d notices", detected)
	}

	// Past renewal time (a third of the lifetime, 30 days and 20 minutes,
	// left) the CA is down: a new episode, a renewal failure, and the
	// certificate, within 30 days of expiring, counts as expiring.
	down := &cert.IssueError{Err: cert.ErrUnavailable, Code: 3, Message: "the CA could not be reached: connection refused"}
	e.issuer.setFail(down)
	e.clk.Set(issued.Free.Next.Add(time.Hour))
	if n, _ := e.certs.RenewDue(t.Context(), opt); n != 1 {
		t.Fatalf("RenewDue = %d", n)
	}
	if detected, _ := round(t, s); detected != 2 {
		t.Fatalf("after the renewal failure: %d recorded, want 2", detected)
	}
	want := []summary{{notify.EventExpiring, id, 30}, {notify.EventFailed, id, 0}, {notify.EventFailed, id, 0}, {notify.EventRecovered, id, 0}}
	got := r.taken(t)
	// Notices recorded at one moment go out in no particular order: compare
	// them by event (stable, so the renewal's failure stays after the
	// issuance's).
	sort.SliceStable(got, func(i, j int) bool { return got[i].Event < got[j].Event })
	if diff := cmp.Diff(want, summarize(got)); diff != "" {
		t.Fatalf("notices taken (-want +got):\n%s", diff)
	}
	if renewal := got[2]; !strings.Contains(renewal.Title, "could not be renewed") || renewal.ApplyMessage != down.Message {
		t.Errorf("renewal failure notice: %+v", renewal)
	}
}

// TestOnceAcrossNodes: two nodes on one database (two store handles) look
// and deliver at the same time, again and again: every notice is recorded
// once and taken by the receiver once.
func TestOnceAcrossNodes(t *testing.T) {
	dialects(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		r := newReceiver(t, "whsec-fleet", nil)
		var ids []string
		for i := range 12 {
			ids = append(ids, e.upload(t, fmt.Sprintf("h%d.example.com", i), t0.Add(time.Duration(5+i)*day), ""))
		}
		e.clk.Set(t0.Add(time.Hour))
		var nodes [2]*notify.Service
		for i := range nodes {
			nodes[i] = e.service(i, r.channel(t, "ops", e.clk))
			nodes[i].Batch = 3
		}
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			detected int
		)
		for i := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 8 {
					d, err := nodes[i].Detect(t.Context())
					if err != nil {
						t.Error(err)
						return
					}
					if _, err := nodes[i].Deliver(t.Context()); err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					detected += d
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		for range 10 { // whatever one batch left behind
			round(t, nodes[0])
		}
		if detected != len(ids) {
			t.Errorf("the nodes recorded %d notices together, want %d", detected, len(ids))
		}
		per := map[string]int{}
		for _, n := range r.taken(t) {
			per[n.CertificateID]++
		}
		for _, id := range ids {
			if per[id] != 1 {
				t.Errorf("certificate %s: the receiver took %d notices, want 1", id, per[id])
			}
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		for id, n := range r.seen {
			if n != 1 {
				t.Errorf("notice %s was posted %d times", id, n)
			}
		}
	})
}

// TestRetries: a receiver that fails is tried again after 30 s, 1 m and
// 2 m, never before, each attempt freshly signed, until it takes the
// notice; one that always fails is given up after MaxAttempts, said at
// Error level.
func TestRetries(t *testing.T) {
	dialects(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		flaky := newReceiver(t, "whsec-flaky", func(n int) int {
			if n <= 3 {
				return http.StatusInternalServerError
			}
			return http.StatusOK
		})
		dead := newReceiver(t, "whsec-dead", func(int) int { return http.StatusServiceUnavailable })
		var logs bytes.Buffer
		s := e.service(0, flaky.channel(t, "flaky", e.clk), dead.channel(t, "dead", e.clk))
		s.MaxAttempts = 5
		s.Log = slog.New(slog.NewJSONHandler(&logs, nil))
		e.upload(t, "www.example.com", t0.Add(10*day), "")

		if detected, delivered := round(t, s); detected != 1 || delivered != 2 {
			t.Fatalf("first round: %d recorded, %d delivered; want 1 and 2 (one per channel)", detected, delivered)
		}
		type step struct {
			after time.Duration
			want  int // deliveries claimed
		}
		// Waits after failures 1, 2, 3, 4: 30 s, 1 m, 2 m, 4 m. The flaky
		// receiver takes the 4th attempt; the dead one's 5th is its last.
		steps := []step{{0, 0}, {29 * time.Second, 0}, {time.Second, 2}, {59 * time.Second, 0}, {time.Second, 2},
			{2 * time.Minute, 2}, {time.Hour, 1}, {24 * time.Hour, 0}}
		for i, st := range steps {
			e.clk.Advance(st.after)
			if _, delivered := round(t, s); delivered != st.want {
				t.Fatalf("step %d (+%s): %d deliveries tried, want %d", i, st.after, delivered, st.want)
			}
		}
		got := flaky.taken(t)
		if len(got) != 1 {
			t.Fatalf("the flaky receiver took %d notices, want 1", len(got))
		}
		flaky.mu.Lock()
		if n := flaky.seen[got[0].ID]; n != 4 {
			t.Errorf("the flaky receiver was asked %d times, want 4", n)
		}
		flaky.mu.Unlock()
		dead.mu.Lock()
		if dead.requests != 5 {
			t.Errorf("the dead receiver was asked %d times, want MaxAttempts (5)", dead.requests)
		}
		dead.mu.Unlock()
		if !strings.Contains(logs.String(), `"level":"ERROR","msg":"notice given up","channel":"dead"`) {
			t.Errorf("no Error line says the dead channel's notice was given up:\n%s", logs.String())
		}
	})
}

// TestSecretsNotInLogs: channels whose receivers refuse, echo the URL back
// or cannot be reached log and store why, and neither the logs nor the
// database hold a URL's token or a signing secret.
func TestSecretsNotInLogs(t *testing.T) {
	path := t.TempDir() + "/esacert.db"
	e := newEnv(t, "sqlite:"+path)
	const (
		token   = "tok-3f9a1c55e0b2"
		secret  = "whsec-7d41b0aa93c8"
		dtToken = "dt-0c8e2f6a7b91"
		dtSec   = "SEC5b1e9f0d3a72"
	)
	echo := newReceiver(t, secret, nil)
	echo.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprintf(w, "upstream failed for %s (key %s)", req.URL.String(), req.URL.Query().Get("access_token"))
	})
	ding := newReceiver(t, dtSec, nil)
	ding.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		fmt.Fprintf(w, `{"errcode":310000,"errmsg":"sign not match for %s"}`, req.URL.RawQuery)
	})
	gone := newReceiver(t, secret, nil)
	goneURL := gone.URL + "/hook/" + token
	gone.Close()

	var channels []notify.Channel
	for _, c := range []struct{ name, typ, url, secret string }{
		{"echo", webhook.TypeWebhook, echo.URL + "/hook/" + token + "?access_token=" + token, secret},
		{"ding", webhook.TypeDingTalk, ding.URL + "/robot/send?access_token=" + dtToken, dtSec},
		{"gone", webhook.TypeWebhook, goneURL, secret},
	} {
		client := echo.Client()
		if c.name == "ding" {
			client = ding.Client()
		}
		snd, err := webhook.New(c.typ, c.url, c.secret, webhook.Options{Client: client, Now: e.clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		channels = append(channels, notify.Channel{Name: c.name, Sender: snd})
	}
	var logs bytes.Buffer
	s := e.service(0, channels...)
	s.Log = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s.MaxAttempts = 2
	e.upload(t, "www.example.com", t0.Add(3*day), "")
	round(t, s)
	e.clk.Advance(time.Hour)
	round(t, s)

	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var stored strings.Builder
	rows, err := db.Query(`SELECT channel, status, attempts, last_error FROM notice_deliveries ORDER BY channel`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var ch, status, lastErr string
		var attempts int
		rows.Scan(&ch, &status, &attempts, &lastErr)
		if status != "failed" || attempts != 2 || lastErr == "" {
			t.Errorf("delivery to %s: %s after %d attempts (%q); want failed after 2, with why", ch, status, attempts, lastErr)
		}
		fmt.Fprintln(&stored, ch, lastErr)
	}
	rows.Close()
	var bodies strings.Builder
	rows, _ = db.Query(`SELECT body FROM notices`)
	for rows.Next() {
		var b string
		rows.Scan(&b)
		bodies.WriteString(b)
	}
	rows.Close()
	for _, where := range []struct{ name, text string }{{"the logs", logs.String()}, {"last_error", stored.String()},
		{"the notices", bodies.String()}} {
		for _, secret := range []string{token, secret, dtToken, dtSec, url.QueryEscape(dtSec)} {
			if strings.Contains(where.text, secret) {
				t.Errorf("%s hold %q:\n%s", where.name, secret, where.text)
			}
		}
	}
	for _, why := range []string{"502 Bad Gateway", "errcode 310000", "post to the webhook channel"} {
		if !strings.Contains(stored.String(), why) || !strings.Contains(logs.String(), why) {
			t.Errorf("neither the logs nor the database say %q:\n%s\n%s", why, stored.String(), logs.String())
		}
	}
}
