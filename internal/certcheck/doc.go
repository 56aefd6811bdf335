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
//	ErrUnexpectedBlock, ErrBadChain,
//	ErrBadName, ErrStrayData, ErrCertTooLarge InvalidSSLPub
//	ErrNoKey, ErrBadKey, ErrEncryptedKey,
//	ErrWeakKey, ErrUnsupportedKey,
//	ErrKeyTooLarge                            InvalidSSLPri
//	ErrKeyMismatch                            CertificateNotMatchPrivateKey
//	ErrExpired, ErrNotYetValid                Certificate.StatusError
//
// The limits (limits.go) bound both what is accepted and the work done on
// hostile input: the texts' lengths are checked before they are scanned, the
// number of PEM blocks before any is parsed as X.509, and key sizes before a
// key is used.
//
// Host names are normalized once, when a certificate is parsed: the DNS
// names of every certificate ParseCertificates returns are lowercased,
// stripped of one trailing dot and deduplicated (in its DNSNames), so Names,
// CheckNames, Describe and everything stored from them agree.
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
