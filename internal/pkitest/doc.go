// Package pkitest mints certificates and keys for tests: a self-signed root
// CA, intermediates under it, and leaves with the names, validity period, key
// type and key format a test asks for. Every time is explicit, so tests are
// written relative to a fixed now and never depend on the clock or on
// checked-in certificates that expire.
//
// Every function takes a testing.TB and calls t.Fatal on any error (including
// an unknown key type or a key format that does not fit the key type), so
// tests use the results without checking. It is for tests and test helper
// packages only; the server itself never imports it.
//
// Generated RSA keys are cached per size for the life of the test binary,
// because generating them is slow: two RSA leaves of the same size share one
// key. Tests that need two different keys (a key that does not match a
// certificate) should use ECDSA or Ed25519, which are fresh on every call.
package pkitest
