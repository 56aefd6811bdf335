// Package sqlstore is esacert's one database/sql implementation of the
// storage interfaces the domain declares. It speaks two dialects, chosen by
// the DSN: SQLite (pure Go, the default) and PostgreSQL (through pgx). DDL is
// kept per dialect under migrations/; every query is shared, written with ?
// placeholders that are rebound for PostgreSQL.
//
// Driver errors never leave the package: a missing row becomes cert.ErrNotFound
// (or a more specific sentinel), a uniqueness violation cert.ErrExists (or a
// more specific one), and anything else is wrapped with context.
package sqlstore
