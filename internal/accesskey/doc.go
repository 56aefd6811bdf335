// Package accesskey holds the access keys that sign API requests.
//
// The root key (accesskey.go: Key, Ring, Generate, LoadOrCreate) is given
// by the operator or generated into the data directory on first start; it
// has every right and is not stored in the database.
//
// The keys of RAM users (key.go: AccessKey; service.go: Create, List,
// SetStatus, Delete, and Open, which the authentication of a request
// uses) are stored in the database with their secrets sealed under the
// master key (SecretAAD binds a sealed secret to its key's row); a secret
// is shown once, in Create's answer, and never again. A user has at most
// MaxPerUser keys. store.go declares the Store they need, errors.go the
// sentinels.
//
// A user's key belongs to a user: the package imports user for CheckName
// and ErrUserNotFound, besides domain. It reads the root key's file (os),
// and never imports net/http, database/sql or a driver.
package accesskey
