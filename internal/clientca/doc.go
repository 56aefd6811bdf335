// Package clientca holds client CA certificates (UploadClientCaCertificate
// and its Get, List, Delete, Set…Hostnames and Get…Hostnames): CAs a site
// uploads so that the edge asks visitors of the hostnames bound to them for
// a client certificate (mutual TLS) and accepts the ones these CAs issued.
// They carry no private key.
//
// Uploads are validated like SetCertificate's (internal/certcheck: PEM,
// limits, validity), the first certificate must be a CA, and every change
// is recorded in the site's change feed, so that every edge follows it.
// Hostnames (one rule for client CAs and esacert's own client
// certificates, see Hostnames) are the site's name or names under it.
package clientca
