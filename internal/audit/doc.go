// Package audit is the audit trail: one Event per request that changes
// state, is denied or fails authentication (and per read, when the operator
// asks), shaped as Alibaba Cloud's ActionTrail shows events.
//
// The API envelope builds the Event and hands it down with the request's
// context (With), the one piece of request data besides the request id that
// travels there; the store writes it in the same transaction as the first
// change the request commits (Claim), so no change is without its record.
// A request that commits nothing (a refused write, a denied or
// unauthenticated request) is recorded on its own by the envelope. Every
// parameter is masked with internal/redact before it is kept.
//
// The package is pure: the standard library and internal/redact only.
package audit
