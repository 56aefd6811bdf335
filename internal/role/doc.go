// Package role owns RAM roles: identities without keys of their own that
// a RAM user (or another role's session) assumes through STS AssumeRole,
// getting temporary credentials with the role's policies. A role's trust
// policy (AssumeRolePolicyDocument, checked by policy.ParseTrust) says who
// may assume it; MaxSessionDuration bounds its sessions.
//
// role.go holds Role and its checks, service.go the use cases
// (CreateRole, Role, ListRoles, UpdateRole, DeleteRole) and the roles'
// tags; store.go declares the Store and TagStore they need, errors.go the
// sentinels. It imports policy (the trust policy's language) and domain,
// and never net/http, database/sql or a driver.
package role
