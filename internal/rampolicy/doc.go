// Package rampolicy owns the account's RAM policies as RAM manages them:
// custom policies with up to MaxVersions versions of their document (one
// the default), the built-in system policies (system.go; read-only), and
// their attachments to users, groups and roles. The documents themselves
// are checked by the pure package policy (Parse): a malformed one is
// ErrMalformed with the reason policy gives.
//
// policy.go holds Policy, Version and the checks of names and documents,
// service.go the use cases on policies and versions, attach.go the
// attachments, tags.go the policies' tags; store.go declares the stores
// they need; errors.go the sentinels.
//
// A policy attaches to users, groups and roles by their names; their
// stores answer their own not-found errors (user.ErrUserNotFound, …), so
// the package imports only policy, for the language, and domain. It never
// imports net/http, database/sql or a driver.
package rampolicy
