package console

import (
	"net/http"
	"net/url"
	"strings"
)

// maxForm bounds a form's body: an upload is a certificate chain and a key
// (the API takes at most 1 MiB), a sign-in far less.
const maxForm = 1 << 20

// authedHandler serves a page for a signed-in session.
type authedHandler func(w http.ResponseWriter, r *http.Request, sess *session)

// authed wraps h: without a live session a GET goes to the sign-in page
// (and comes back after it), anything else is refused; a POST must come
// from this console (no cross-site Origin or Sec-Fetch-Site) and carry the
// session's CSRF token. The form (multipart for uploads) is parsed here,
// bounded by maxForm.
func (c *Console) authed(h authedHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, ok := c.sessions.get(cookie(r, sessionCookie), c.now(), c.expired)
		if !ok {
			if r.Method == http.MethodGet {
				to := "/signin?next=" + url.QueryEscape(r.URL.RequestURI())
				if cookie(r, sessionCookie) != "" {
					to += "&m=expired"
				}
				http.Redirect(w, r, to, http.StatusSeeOther)
				return
			}
			c.errorPage(w, r, nil, http.StatusForbidden, "Signed out",
				"Your session has ended. Sign in again, then send the form again.")
			return
		}
		if r.Method == http.MethodPost {
			if !c.formOK(w, r, sess.csrf) {
				c.errorPage(w, r, &sess, http.StatusForbidden, "Form refused",
					"The form was not accepted: it did not come from this page of the console, or it is stale. Reload the page and try again.")
				return
			}
		}
		h(w, r, &sess)
	}
}

// formOK parses a POST's form (bounded) and reports whether it carries
// token and came from this console.
func (c *Console) formOK(w http.ResponseWriter, r *http.Request, token string) bool {
	if crossSite(r) {
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		err = r.ParseMultipartForm(maxForm)
	} else {
		err = r.ParseForm()
	}
	return err == nil && tokensEqual(r.PostFormValue("csrf"), token)
}

// signinBody is the sign-in page's body.
type signinBody struct {
	Token   string // the sign-in form's own CSRF token
	Next    string
	KeyID   string // kept after a failed attempt; the secret never is
	Message string
	Error   string
}

// signinMessages are the notes the sign-in page shows, by the m parameter
// (fixed texts: nothing a link carries is echoed).
var signinMessages = map[string]string{
	"out":     "You are signed out.",
	"key":     "Your access key no longer signs (it was deleted or disabled): sign in with another.",
	"expired": "Your session ended: sign in again.",
}

// safeNext returns next when it is a path of this console, else /sites.
// Any control character is refused outright: browsers drop tabs and
// newlines from a Location, so "/\t/evil.example" would leave the site.
func safeNext(next string) string {
	for i := 0; i < len(next); i++ {
		if next[i] < 0x20 || next[i] == 0x7f {
			return "/sites"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil ||
		!strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.HasPrefix(next, "/signin") {
		return "/sites"
	}
	return next
}

// signinForm shows the sign-in form with a fresh sign-in token (its
// cookie beside it: the double-submit against a sign-in forged from
// another site).
func (c *Console) signinForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := c.sessions.get(cookie(r, sessionCookie), c.now(), c.expired); ok {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	c.showSignin(w, r, http.StatusOK, signinBody{Next: safeNext(r.URL.Query().Get("next")),
		Message: signinMessages[r.URL.Query().Get("m")]})
}

func (c *Console) showSignin(w http.ResponseWriter, r *http.Request, status int, b signinBody) {
	b.Token = randomToken()
	setCookie(w, r, signinCookie, b.Token, 0)
	c.render(w, r, status, "signin", page{Title: "Sign in", Body: b})
}

// signin checks the access key id and secret through the API and starts
// a session: a new id (never one the browser brought), a new CSRF token.
func (c *Console) signin(w http.ResponseWriter, r *http.Request) {
	token := cookie(r, signinCookie)
	if !c.formOK(w, r, token) {
		c.showSignin(w, r, http.StatusForbidden, signinBody{Next: "/sites",
			Error: "The sign-in form was stale or did not come from this console. Try again."})
		return
	}
	keyID := strings.TrimSpace(r.PostFormValue("access_key_id"))
	secret := strings.TrimSpace(r.PostFormValue("access_key_secret"))
	next := safeNext(r.PostFormValue("next"))
	if keyID == "" || secret == "" {
		c.showSignin(w, r, http.StatusBadRequest, signinBody{Next: next, KeyID: keyID, Error: "Enter an access key id and its secret."})
		return
	}
	addr := sourceAddr(r)
	if !c.limit.take(addr, c.now()) {
		c.showSignin(w, r, http.StatusTooManyRequests, signinBody{Next: next, KeyID: keyID,
			Error: "Too many failed sign-ins from your address: wait a minute, then try again."})
		return
	}
	principal, ok, err := c.API.SignIn(r, keyID, secret)
	switch {
	case err != nil:
		c.limit.refund(addr, c.now()) // not the client's failure
		c.showSignin(w, r, http.StatusServiceUnavailable, signinBody{Next: next, KeyID: keyID,
			Error: "esacert could not check the key just now (see its log); try again in a moment."})
		return
	case !ok:
		c.showSignin(w, r, http.StatusUnauthorized, signinBody{Next: next, KeyID: keyID,
			Error: "The access key id or secret is wrong, or the key is disabled."})
		return
	}
	c.limit.refund(addr, c.now())
	now := c.now()
	if old := cookie(r, sessionCookie); old != "" {
		c.sessions.drop(old)
	}
	id := c.sessions.create(&session{keyID: keyID, principal: principal, csrf: randomToken(), created: now, seen: now},
		c.maxSessions(), c.expired)
	setCookie(w, r, sessionCookie, id, 0)
	setCookie(w, r, signinCookie, "", -1)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// signout ends the session.
func (c *Console) signout(w http.ResponseWriter, r *http.Request, sess *session) {
	c.sessions.drop(cookie(r, sessionCookie))
	setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, "/signin?m=out", http.StatusSeeOther)
}
