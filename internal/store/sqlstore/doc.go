// Package sqlstore is esacert's one database/sql implementation of the
// storage interfaces the domain's nouns declare. It speaks two dialects,
// chosen by the DSN: SQLite (pure Go, the default) and PostgreSQL (through
// pgx). DDL is kept per dialect under migrations/; every query is shared,
// written with ? placeholders that are rebound for PostgreSQL.
//
// One file per noun implements that noun's interface: sites.go and
// instances.go (site.Store), records.go (record.Store), https.go
// (httpsconf.Store), sitesettings.go (sitesetting.Store and site coverage),
// certificates.go and free.go (cert's CertStore,
// RepoStore, FreeStore, ChallengeStore, AccountStore), notices.go
// (notify.Store: notices and their deliveries); reseal.go,
// masterkey.go and nodes.go serve the master key's rotation, edge.go and
// changes.go the edge, copy.go and import.go migrations between databases.
//
// Driver errors never leave the package: a missing row becomes
// domain.ErrNotFound (or a more specific sentinel), a uniqueness violation
// domain.ErrExists (or a more specific one), and anything else is wrapped
// with context.
package sqlstore
