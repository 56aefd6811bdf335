// Package notify tells an operator, before a visitor notices, that a
// certificate of a site is about to expire or that a free certificate
// cannot be issued or renewed, and when it recovers.
//
// Service.Detect looks at the certificates (uploaded, taken from the
// repository, free) through the Store and records a Notice for each thing
// that is newly true (notice.go has the events and their words): a
// certificate entered one of its last 30, 14, 7 or 1 days before NotAfter,
// or expired; a free certificate's issuance or renewal failed (with its
// ApplyCode and ApplyMessage), or succeeded again after failing. The store
// keeps each notice unique per certificate, event and episode, so that a
// notice is recorded once however many nodes look at the same time
// (detect.go says what an episode is). Service.Deliver then hands each
// recorded notice to every Channel that takes its event, leasing each
// delivery to one node, and retries a failed one with exponential backoff
// up to a bound (deliver.go). Channels are Senders: internal/webhook
// implements the generic signed webhook and the chat formats.
//
// The package imports cert for the free certificates' states and domain
// for the clock and ids; it never imports net/http or database/sql.
package notify
