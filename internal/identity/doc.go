// Package identity tells who signs a request and what it may do: the
// account's root key, a RAM user's access key (with the policies attached
// to the user and its groups) or STS credentials of a role.
//
// identity.go holds Identity, whose Evaluate decides a request with the
// pure policy language (policy.Evaluate); the rules are policy's, the
// policies the identity's. It imports policy and domain, and never
// net/http, database/sql or a driver.
package identity
