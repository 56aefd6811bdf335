// Package api answers Alibaba Cloud ESA's OpenAPI (version 2024-09-10, RPC
// style) over HTTP, so that the official SDKs, the aliyun CLI and the
// Terraform provider work against esacert with only their endpoint changed.
//
// Server.ServeHTTP runs the request envelope once for every action: a size
// limit on the body, query and form parameters merged, both signature schemes
// (ACS3-HMAC-SHA256 and the RPC HMAC-SHA1 one), the time window, the nonce
// replay check, dispatch through one action table (actions.go), and one JSON
// answer with a RequestId. errors.go holds the only mapping from an error to
// a Code and an HTTP status.
//
// The handlers follow the domain's nouns, one file each, and call that
// noun's Service: sites.go and plans.go (site), records.go (record),
// https.go and origin.go (httpsconf), certificates.go and repository.go (cert). The api
// decides no rule of the domain and imports no store.
package api
