// Package certcheck parses and checks the certificates and private keys that
// users paste into SetCertificate. It is pure: it reads no clock (the caller
// passes now), no files and no network, and it imports the standard library
// only (internal/archtest enforces this), because it is the one parser of
// hostile input in the domain and is fuzzed.
//
// Check is the whole policy in one call: ParseCertificates, ParsePrivateKey,
// Chain (which finds the leaf by its key and orders the intermediates) and
// CheckValidity, in that order of errors. The pieces are exported for callers
// that need only some of them, such as re-reading stored PEM without the
// validity check.
//
// Every failure wraps one of the sentinel errors below, so callers match them
// with errors.Is. Error texts start with "certcheck: ", never contain key
// material, and are meant for logs: internal/api/errors.go maps the sentinels
// to the public Codes of SetCertificate:
//
//	ErrNoCertificate, ErrBadCertificate,
//	ErrUnexpectedBlock, ErrBadChain           InvalidSSLPub
//	ErrNoKey, ErrBadKey, ErrEncryptedKey,
//	ErrWeakKey, ErrUnsupportedKey             InvalidSSLPri
//	ErrKeyMismatch                            CertificateNotMatchPrivateKey
//	ErrExpired, ErrNotYetValid                Certificate.StatusError
//
// Whether a certificate's names belong to a site (CertificateDomainNotMatchSite)
// is decided by the caller with Names and MatchesSite.
//
// The PEM reader is deliberately forgiving about how text was pasted (CRLF or
// CR line ends, blank lines, indentation, Unicode spaces, free text before,
// between and after blocks, a block flattened onto one line) and deliberately
// strict about anything that looks like PEM but is not: text holding
// "-----BEGIN" or "-----END" outside a well-formed block is an error, never
// silently skipped.
package certcheck
