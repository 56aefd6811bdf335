// Package console is esacert's web console: server-rendered pages
// (html/template, assets embedded, no script) on an address of the
// operator's choosing, where an operator signs in with an access key (the
// root key or a RAM user's) and sees the sites, their certificates with
// the days left and an expiry timeline, free certificates with what to fix
// when they fail, DNS records and HTTPS settings, and uploads or replaces a
// certificate.
//
// The console is a client of the API, never of the services: every page
// and form goes through API.Invoke, the API's envelope less the signature
// (api.Server implements API), so the same policies authorize it, the same
// validation answers it with the same messages, and the same audit trail
// and log lines record it. The console holds no secret: the access key's
// secret is checked once at sign-in (API.SignIn) and dropped; a session
// keeps the key id, so a key disabled or a policy changed since is in
// force on the next page.
//
// Sessions live in the console's memory (a random id in an HttpOnly,
// SameSite=Strict cookie, Secure and __Host- prefixed over TLS), end after
// an idle time or a maximum age, and are lost when the process stops. Every
// form carries the session's CSRF token, checked on every POST, and the
// sign-in form a token of its own. Pages are sent with a Content Security
// Policy that allows no script, no frame and forms to this origin only.
package console
