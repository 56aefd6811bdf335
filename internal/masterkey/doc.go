// Package masterkey keeps a node's master keys: where they come from (the
// environment, a key file, or master.key in the data directory), the live
// key ring a running node seals and opens private keys with, and the online
// rotation that moves a running fleet to a new master key without a restart
// and without a failed request.
//
// A key file holds one key per line, newest first (a file of one key, as
// esacert wrote before key rings, is a ring of one). The database records
// which key seals (current) and the one before it (previous). A running
// node reads its key file again when it changes and reports the keys it
// holds and the one it seals with in the database's node list about once a
// second (see Keeper). Rotate uses that list: it refuses while a running
// node does not hold the new key, naming the node, then makes the new key
// current, waits until every node seals with it, and reseals every value
// still sealed by another key in one transaction.
//
// It imports keyseal and sqlstore; nothing here reads flags or the
// environment (internal/config does).
package masterkey
