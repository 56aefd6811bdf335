// Package clientcert holds the client certificates esacert issues for a
// site's visitors (CreateClientCertificate and its Get, List, Revoke,
// Activate, Delete, Set…Hostnames and Get…Hostnames) and the site's own
// client CA that signs them.
//
// Each site gets one issuing CA (an ECDSA P-256 key, self-signed), made on
// first need; its private key is kept sealed only (domain.Sealer, bound to
// the CA's id by IssuerAAD) and is re-sealed when the master key rotates.
// A certificate is issued for the public key of a CSR whose signature
// verifies, or for a key generated here (RSA 2048 or ECDSA P-256) that is
// answered once, on creation, and never stored. Hostnames are bound to the
// issuing CA (ESA's Set/GetClientCertificateHostnames name the client CA):
// on them the edge accepts the site's active certificates only, so that a
// revoked or deleted one is refused. Hostnames follow clientca.Hostnames;
// every change is recorded in the site's change feed.
package clientcert
