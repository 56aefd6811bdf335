// Package identity tells who signs a request and what it may do: the
// account's root key, a RAM user's access key (with the policies attached
// to the user and its groups) or STS credentials of a role.
//
// identity.go holds Identity, whose Evaluate decides a request with the
// pure policy language (a policy.Set of the identity's policies); the
// rules are policy's, the policies the identity's. resolver.go holds the
// Resolver, which finds the identity of an access key (its secret unsealed,
// its grants compiled) and caches it per node until the RAM revision
// moves: Follow watches the revision, woken by the store's notifications
// and polling, so that a key disabled or a policy detached on any node is
// in force on every node within its poll. store.go's Store is what it
// reads; errors.go holds the sentinels.
//
// It imports accesskey (the keys), rampolicy (the system policies'
// documents), policy and domain, and never net/http, database/sql or a
// driver.
package identity
