// Package cert is esacert's domain: sites, plan instances and (later)
// certificates, the use cases on them (Service), the storage interfaces those
// use cases need (declared here, by their consumer) and the sentinel errors
// they return.
//
// The package never imports net/http or database/sql: the api package turns
// requests into calls of Service and errors into Codes, and a store package
// implements the storage interfaces.
package cert
