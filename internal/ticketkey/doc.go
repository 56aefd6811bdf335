// Package ticketkey keeps the keys that seal the edge's TLS session
// tickets, shared by every node of a fleet through the database.
//
// A key is 32 random bytes, stored sealed under the master key (AAD
// "ticket-key:<id>") in the ticket_keys table and numbered 1, 2, 3, … in
// the order they were made. One key seals new tickets; the one before it
// still opens tickets, so that visitors resume across one rotation, not
// two. Whichever node finds the newest key nearly a rotation period old
// makes the next one, in a transaction that only one node wins; every node
// reads the keys again every poll. A new key opens tickets at once but
// seals them only after a grace of three polls, so that a ticket one node
// seals opens on every node; the table keeps three keys (next, current,
// previous). Keys never appear in a log line or an error.
package ticketkey
