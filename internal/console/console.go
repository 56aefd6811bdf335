package console

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// API is the console's way to the API (api.Server implements it): a
// sign-in checks an access key once, and every page and form invokes
// actions as that key, through the API's authorization and validation.
// Implementations are safe for concurrent use.
type API interface {
	// SignIn checks keyID and secret: ok is false for a wrong one; err is
	// a failure to check (such as an unreachable database). principal
	// names who signs with the key, for display.
	SignIn(r *http.Request, keyID, secret string) (principal string, ok bool, err error)
	// Invoke runs action (of version, with params) as keyID in the
	// context of r, and returns the API's answer: its HTTP status and
	// JSON body.
	Invoke(r *http.Request, keyID, version, action string, params url.Values) (status int, body []byte)
}

// esaVersion is the version of ESA's API the console speaks.
const esaVersion = "2024-09-10"

// Console serves the web console (http.Handler). Set its fields before
// the first request; after that it is safe for concurrent use.
type Console struct {
	// API answers the console's calls; required.
	API API
	// Log receives the console's own problems (a page that cannot be
	// rendered); the API logs each call. Nil means slog.Default().
	Log *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Idle ends a session not used for this long; 0 means DefaultIdle.
	Idle time.Duration
	// MaxAge ends a session this long after its sign-in; 0 means DefaultMaxAge.
	MaxAge time.Duration
	// MaxSessions bounds the sessions held; 0 means DefaultMaxSessions.
	MaxSessions int

	once     sync.Once
	mux      *http.ServeMux
	pages    map[string]*template.Template
	sessions sessions
	limit    signinLimit // failed sign-ins per source address
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/*
var staticFS embed.FS

func (c *Console) now() time.Time {
	if c.Now != nil {
		return c.Now().UTC()
	}
	return time.Now().UTC()
}

func (c *Console) idle() time.Duration {
	if c.Idle > 0 {
		return c.Idle
	}
	return DefaultIdle
}

func (c *Console) maxAge() time.Duration {
	if c.MaxAge > 0 {
		return c.MaxAge
	}
	return DefaultMaxAge
}

func (c *Console) maxSessions() int {
	if c.MaxSessions > 0 {
		return c.MaxSessions
	}
	return DefaultMaxSessions
}

func (c *Console) log() *slog.Logger {
	if c.Log != nil {
		return c.Log
	}
	return slog.Default()
}

// Sessions is the number of sessions the console holds.
func (c *Console) Sessions() int { return c.sessions.count() }

// pageNames are the templates of the pages, each rendered in layout.html.
var pageNames = []string{"signin", "sites", "site", "certificate", "upload", "records", "https", "certificates", "error"}

func (c *Console) init() {
	c.pages = map[string]*template.Template{}
	for _, name := range pageNames {
		c.pages[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	static, _ := fs.Sub(staticFS, "static")
	m := http.NewServeMux()
	m.Handle("GET /static/", http.StripPrefix("/static/", staticHandler(http.FileServerFS(static))))
	m.HandleFunc("GET /signin", c.signinForm)
	m.HandleFunc("POST /signin", c.signin)
	m.HandleFunc("POST /signout", c.authed(c.signout))
	m.HandleFunc("GET /{$}", c.authed(func(w http.ResponseWriter, r *http.Request, s *session) {
		http.Redirect(w, r, "/sites", http.StatusSeeOther)
	}))
	m.HandleFunc("GET /sites", c.authed(c.sitesPage))
	m.HandleFunc("GET /go", c.authed(c.goToSite))
	m.HandleFunc("GET /sites/{site}", c.authed(c.sitePage))
	m.HandleFunc("GET /sites/{site}/certificates/{cert}", c.authed(c.certificatePage))
	m.HandleFunc("GET /sites/{site}/upload", c.authed(c.uploadForm))
	m.HandleFunc("POST /sites/{site}/upload", c.authed(c.upload))
	m.HandleFunc("GET /sites/{site}/records", c.authed(c.recordsPage))
	m.HandleFunc("GET /sites/{site}/https", c.authed(c.httpsPage))
	m.HandleFunc("GET /certificates", c.authed(c.certificatesPage))
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		c.errorPage(w, r, nil, http.StatusNotFound, "Not found", "There is no such page in the console.")
	})
	c.mux = m
}

// ServeHTTP serves the console's pages, each with headers that allow no
// script, no frame, no sniffing and no referrer to another site, and no caching of a
// signed-in page.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.once.Do(c.init)
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "+
		"frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	// same-origin, not no-referrer: under no-referrer a browser sends its
	// own forms with Origin: null.
	h.Set("Referrer-Policy", "same-origin")
	if r.TLS != nil {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	if !strings.HasPrefix(r.URL.Path, "/static/") {
		h.Set("Cache-Control", "no-store")
	}
	c.mux.ServeHTTP(w, r)
}

// staticHandler serves the embedded assets, cached for a day.
func staticHandler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		h.ServeHTTP(w, r)
	})
}

// page is what every page's template is given.
type page struct {
	Title     string
	Principal string // "" before sign-in
	CSRF      string
	Flash     string
	Nav       string // the current section: sites or certificates
	Body      any
}

// render writes the page name with status. The page is rendered into a
// buffer first, so that a template failure answers a plain error, not
// half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	var buf bytes.Buffer
	if err := c.pages[name].Execute(&buf, p); err != nil {
		c.log().Error("console: render a page", "page", name, "path", r.URL.Path, "error", err)
		http.Error(w, "The page could not be rendered.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// errorBody is the error page's body.
type errorBody struct {
	Heading, Message string
	Code, RequestID  string // the API's, when it answered
}

// errorPage renders an error page; sess is nil before sign-in.
func (c *Console) errorPage(w http.ResponseWriter, r *http.Request, sess *session, status int, heading, msg string) {
	p := page{Title: heading, Body: errorBody{Heading: heading, Message: msg}}
	if sess != nil {
		p.Principal, p.CSRF = sess.principal, sess.csrf
	}
	c.render(w, r, status, "error", p)
}

// apiErrorPage renders the API's refusal of a page's main call: a denial
// shows the API's message (which action on which resource); a key that no
// longer signs ends the session.
func (c *Console) apiErrorPage(w http.ResponseWriter, r *http.Request, sess *session, e *apiError) {
	if e.keyGone() {
		c.sessions.drop(cookie(r, sessionCookie))
		setCookie(w, r, sessionCookie, "", -1)
		http.Redirect(w, r, "/signin?m=key", http.StatusSeeOther)
		return
	}
	heading := "The API refused"
	switch {
	case e.denied():
		heading = "Not allowed"
	case e.Status == http.StatusNotFound:
		heading = "Not found"
	case e.Status == http.StatusServiceUnavailable:
		heading = "Not available"
	}
	p := page{Title: heading, Principal: sess.principal, CSRF: sess.csrf,
		Body: errorBody{Heading: heading, Message: e.Message, Code: e.Code, RequestID: e.RequestID}}
	status := e.Status
	if status < 400 {
		status = http.StatusBadGateway
	}
	c.render(w, r, status, "error", p)
}
