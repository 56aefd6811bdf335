package api

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// observed records what an Observer is told.
type observed struct {
	mu   sync.Mutex
	reqs [][2]string // action, code
}

func (o *observed) Request(action, code string, took time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.reqs = append(o.reqs, [2]string{action, code})
}

// TestObserver: every request is told once answered, with its action only
// when some version answers one of that name, and its Code ("OK" for a
// success); the answer before the database is reached too (it reads no
// action), and the console's calls (Invoke).
func TestObserver(t *testing.T) {
	env := newTestEnv(t, testNow)
	obs := &observed{}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := &Server{Sites: env.srv.Sites, Records: env.srv.Records, HTTPS: env.srv.HTTPS, Certs: env.srv.Certs,
		Keys: env.srv.Keys, Now: env.srv.Now, Log: quiet, Observer: obs}
	hs := httptest.NewServer(s)
	defer hs.Close()
	sg := &signer{key: "testAKID", secret: "testSecret", now: testNow}
	wrong := &signer{key: "testAKID", secret: "wrong", now: testNow}
	do(t, sg.rpc(t, hs.URL, "POST", "CreateSite", nil, url.Values{"SiteName": {"observe.com"}}))
	do(t, sg.rpc(t, hs.URL, "GET", "GetSite", url.Values{"SiteId": {"42"}}, nil))
	do(t, wrong.rpc(t, hs.URL, "GET", "ListSites", nil, nil))
	do(t, sg.rpc(t, hs.URL, "GET", "MadeUpAction", nil, nil))
	unavailable := httptest.NewServer(Unavailable(quiet, obs))
	defer unavailable.Close()
	for _, u := range []string{unavailable.URL + "/?Action=ListSites", hs.URL + "/?Action=" + url.QueryEscape("Evil\nAction")} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if status, body := s.Invoke(httptest.NewRequest("GET", "/", nil), "testAKID", ESAVersion, "ListSites", url.Values{}); status != 200 {
		t.Fatalf("Invoke: %d %s", status, body)
	}
	want := [][2]string{{"CreateSite", "OK"}, {"GetSite", "SiteNotFound"}, {"ListSites", "SignatureDoesNotMatch"},
		{"", "InvalidAction.NotFound"}, {"", "ServiceUnavailable"}, {"", "MissingParameter"}, {"ListSites", "OK"}}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if diff := cmp.Diff(want, obs.reqs); diff != "" {
		t.Errorf("observed (-want +got):\n%s", diff)
	}
}
