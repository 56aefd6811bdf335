// Package apiclient calls an esacert node's OpenAPI the way Alibaba Cloud's
// SDKs do: one POST to path / with the action's parameters in a form body,
// signed with ACS3-HMAC-SHA256 (the Authorization header over the action,
// the version, the time, a nonce and the body's SHA-256). It is the client
// side of internal/api's envelope, written separately from the server's
// verifier so that each checks the other; esacert api and esacert certs
// use it.
//
// It depends on the standard library only: a client needs nothing of the
// server.
package apiclient
