// Package record owns the DNS records of a site: their types and Data
// (record.go), how requests spell them (parse.go), the rules a record must
// pass (check.go, and origin.go for the origin policy of proxied records),
// the origin secrets of AuthConf sealed at rest (secrets.go), the use cases
// (Service: CreateRecord, Record, ListRecords, UpdateRecord, DeleteRecord,
// RecordAuth), the Store they need and their sentinel errors.
//
// A record belongs to a site: the package imports site for Site,
// ErrSiteNotFound, Lookup (the SiteId of a request) and CheckHostname, and
// domain for what every noun shares, besides origin for the origin policy.
// It imports no other noun (cert reseals records' secrets through
// SecretsAAD, not the other way round), and never net/http, database/sql
// or a driver.
package record
