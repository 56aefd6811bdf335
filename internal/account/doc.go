// Package account is the one Alibaba Cloud account an esacert database
// serves: its numeric id, drawn at first start and kept in the database
// (it appears in ARNs, in access-denied details and in STS
// GetCallerIdentity), and its alias (RAM GetAccountAlias/SetAccountAlias).
// Service holds the use cases; Store is the storage they need, declared
// here by its consumer. ARN names the account's RAM identities.
//
// It imports domain only, and never net/http, database/sql or a driver.
package account
