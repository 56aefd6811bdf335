// Package archtest holds guard tests over the whole module: every package is
// documented, and the layers import only what ARCHITECTURE.md allows. The
// domain is one small shared package (domain) and one package per noun (site,
// record, httpsconf, cert): domainImports lists what each may import of
// esacert, none of them imports net/http, database/sql or a driver, and only
// the composition root (cmd/esacert, internal/node) wires the adapters.
package archtest
