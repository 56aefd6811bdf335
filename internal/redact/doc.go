// Package redact is the one place that knows which request parameters and
// JSON fields carry secrets, and how to show values that may hold one.
//
// Everything that shows what a client sent (error messages, log lines, the
// audit trail) asks this package first:
//
//   - IsSecret says whether a parameter or JSON field is secret-bearing by
//     its name (AuthConf, PrivateKey, Key, SecretKey, AccessKeySecret,
//     Password, SecurityToken, and any name that says secret, password,
//     token or private key).
//   - CarriesSecret says whether a parameter may carry a secret: by its
//     name, by a secret-bearing field anywhere in a JSON value, or by PEM
//     private key text in its value. A value that carries one is never
//     echoed.
//   - Param masks a parameter's value for display, secret fields nested in
//     a JSON value included, keeping what is not secret.
//   - Clean makes any value fit for a log line: bounded in size, printable,
//     and never PEM or key-like text; Prefix shows only the start of one.
//
// The package uses the standard library only, holds no state and is safe
// for concurrent use.
package redact
