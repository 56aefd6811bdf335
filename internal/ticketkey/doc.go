// Package ticketkey keeps the keys that seal the edge's TLS session
// tickets, shared by every node of a fleet through the database.
//
// A key is 32 random bytes, stored sealed under the master key (AAD
// "ticket-key:<id>") in the ticket_keys table and numbered 1, 2, 3, … in
// the order they were made. The newest key seals new tickets; the one
// before it still opens tickets, so that visitors resume across one
// rotation; older keys are deleted. Whichever node finds the newest key
// older than the rotation period makes the next one, in a transaction that
// only one node wins; every node reads the keys again every poll. Keys
// never appear in a log line or an error.
package ticketkey
