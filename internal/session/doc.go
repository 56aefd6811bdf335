// Package session owns STS sessions: temporary credentials of a RAM role
// (AssumeRole), and their verification when a request is signed with them.
//
// A session is stored nowhere. Its SecurityToken is self-contained: the
// session's access key id, role, session name, expiry and session policy,
// authenticated with a server key (HMAC-SHA256) that is kept in the
// database sealed under the master key; the session's secret is derived
// from the server key and the token, so no secret of a session is ever
// stored, in plain or sealed. A token that was changed, belongs to
// another key or expired is refused; a session whose role was deleted
// stops with it (the role is read by id when the token is verified).
//
// token.go holds the token and the secret's derivation, service.go the use
// cases (AssumeRole, Open), store.go the stores they need, errors.go the
// sentinels. It imports role (the role assumed and its trust policy),
// policy (the trust policy and the session policy are checked there) and
// domain, and never net/http, database/sql or a driver.
package session
