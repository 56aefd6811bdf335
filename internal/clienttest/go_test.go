package clienttest

import (
	"strings"
	"testing"
)

var goKinds = []clientKind{teaKind(false), teaKind(true), coreKind}

// TestGoClientsManageSites runs the whole site and plan scenario with every
// Go client against one real node.
func TestGoClientsManageSites(t *testing.T) {
	addr, key := startNode(t)
	for _, k := range goKinds {
		t.Run(k.name, func(t *testing.T) {
			runSiteScenario(t, k.make(t, addr, key, false), strings.ReplaceAll(k.name, "_", "-"))
		})
	}
}

// TestGoClientsSeeEnvelopeErrors provokes each envelope error with each Go
// client and checks the client's own error type, Code and status.
func TestGoClientsSeeEnvelopeErrors(t *testing.T) {
	addr, key := startNode(t)
	for _, k := range goKinds {
		t.Run(k.name, func(t *testing.T) { runEnvelopeErrors(t, k, addr, key) })
	}
}

// TestGoClientsManageCertificates runs the certificate scenario with every Go client.
func TestGoClientsManageCertificates(t *testing.T) {
	addr, key := startNode(t)
	for _, k := range goKinds {
		t.Run(k.name, func(t *testing.T) {
			runCertScenario(t, k.make(t, addr, key, false), strings.ReplaceAll(k.name, "_", "-"))
		})
	}
}
