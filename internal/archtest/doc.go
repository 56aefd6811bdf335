// Package archtest holds guard tests over the whole module: every package is
// documented, and the layers import only what ARCHITECTURE.md allows.
package archtest
