package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Defaults of the sessions' bounds.
const (
	DefaultIdle        = 30 * time.Minute
	DefaultMaxAge      = 12 * time.Hour
	DefaultMaxSessions = 10_000
)

// Cookie names: over TLS the __Host- prefix binds the cookie to this
// origin (Secure, Path=/, no Domain).
const (
	sessionCookie = "esacert_console"
	signinCookie  = "esacert_console_signin"
	hostPrefix    = "__Host-"
)

// session is one signed-in user: the access key id it acts as (never the
// secret), who that is, and its CSRF token.
type session struct {
	keyID     string
	principal string // the ARN, for display
	csrf      string
	created   time.Time
	seen      time.Time
	flash     string // a message for the next page (after a redirect)
}

// sessions keeps the sessions in memory, by the SHA-256 of their cookie
// value (a leaked dump of the map does not give the cookie). It is safe
// for concurrent use.
type sessions struct {
	mu   sync.Mutex
	byID map[string]*session
}

// randomToken returns 32 random bytes, base64url.
func randomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func hashID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// create stores a new session and returns its cookie value. Past max
// sessions, the expired ones go, then the least recently seen.
func (s *sessions) create(sess *session, max int, expired func(*session) bool) string {
	id := randomToken()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byID == nil {
		s.byID = map[string]*session{}
	}
	if len(s.byID) >= max {
		for k, v := range s.byID {
			if expired(v) {
				delete(s.byID, k)
			}
		}
		for len(s.byID) >= max {
			var oldest string
			var at time.Time
			for k, v := range s.byID {
				if oldest == "" || v.seen.Before(at) {
					oldest, at = k, v.seen
				}
			}
			delete(s.byID, oldest)
		}
	}
	s.byID[hashID(id)] = sess
	return id
}

// get returns a copy of the session of cookie value id, touched at now,
// or false when there is none or it expired (then it is dropped).
func (s *sessions) get(id string, now time.Time, expired func(*session) bool) (session, bool) {
	if id == "" {
		return session{}, false
	}
	key := hashID(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.byID[key]
	if !ok {
		return session{}, false
	}
	if expired(sess) {
		delete(s.byID, key)
		return session{}, false
	}
	sess.seen = now
	out := *sess
	sess.flash = ""
	return out, true
}

// setFlash leaves a message for the session's next page.
func (s *sessions) setFlash(id, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess, ok := s.byID[hashID(id)]; ok {
		sess.flash = msg
	}
}

// drop ends the session of cookie value id.
func (s *sessions) drop(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, hashID(id))
}

// count is the number of sessions held.
func (s *sessions) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byID)
}

// expired reports whether sess is past its idle time or its maximum age.
func (c *Console) expired(sess *session) bool {
	now := c.now()
	return now.Sub(sess.seen) > c.idle() || now.Sub(sess.created) > c.maxAge()
}

// cookieName is name with the __Host- prefix over TLS.
func cookieName(r *http.Request, name string) string {
	if r.TLS != nil {
		return hostPrefix + name
	}
	return name
}

// setCookie sets an HttpOnly, SameSite=Strict cookie for the whole
// console, Secure over TLS; maxAge 0 makes it a session cookie, -1 deletes it.
func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: cookieName(r, name), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

// cookie returns the value of the console's cookie name, or "".
func cookie(r *http.Request, name string) string {
	ck, err := r.Cookie(cookieName(r, name))
	if err != nil {
		return ""
	}
	return ck.Value
}

// tokensEqual compares two tokens in constant time; an empty one never
// matches.
func tokensEqual(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// crossSite reports whether the browser says the request came from
// another site (Sec-Fetch-Site), or, from a browser that does not say,
// its Origin names another host than the one asked: a second line behind
// the CSRF token and SameSite=Strict. (The scheme is not compared, so that
// a proxy that terminates TLS in front of the console does not make every
// form cross-site.)
func crossSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin":
		return false // Origin may then be "null" (a page whose referrer policy hides it)
	case "", "none":
	default:
		return true
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	u, err := url.Parse(origin)
	return err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host)
}
