// Package user owns RAM users: the identities of the account that sign
// requests with their own access keys and get their rights from the
// policies attached to them and to their groups. user.go holds the User
// and the checks of its fields, service.go the use cases (CreateUser, User,
// ListUsers, UpdateUser, DeleteUser, and DeleteLoginProfile and
// UnbindMFADevice, which answer that there is nothing to remove: esacert
// users have no console password and no MFA device), store.go the Store
// they need, errors.go the sentinels.
//
// The other nouns of access control that belong to a user (access keys,
// group memberships, policy attachments) import this package for
// ErrUserNotFound and CheckName. It imports domain only, and never
// net/http, database/sql or a driver.
package user
