package edge

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"reflect"
	"runtime"
	"testing"
	"time"
	"unsafe"
	"weak"

	"github.com/esacert/esacert/internal/site"
)

// TestArenaChunksFreed: a first load puts the certificates' leaves and
// sealed keys in arena chunks outside the heap; the edge serves them
// (real handshakes); once the whole index is replaced by a reload, the
// chunks are given back, and a certificate built for handshakes before
// (held here, as a handshake under way would) still reads whole: it holds
// copies, not the chunk's bytes.
func TestArenaChunksFreed(t *testing.T) {
	delay := unmapDelay.Swap(0) // unmapped at once, so that a use of the old bytes would fault
	t.Cleanup(func() { unmapDelay.Store(delay) })
	f := newFixture(t)
	src := newMemSource()
	leaves := map[string][]byte{}
	for i := range 20 {
		name := fmt.Sprintf("arena%d.example", i)
		c, l := f.certificate("ecdsa-p256", now.Add(24*time.Hour), "www."+name)
		src.put(siteState(int64(i+1), name, site.SiteActive, c))
		leaves["www."+name] = l.Cert.Raw
	}
	e, addr := serveEdge(t, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour, CertCache: 4})
	for name, want := range leaves {
		chain, err := handshake(t, addr, name, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(chain[0].Raw, want) {
			t.Fatalf("%s: served another leaf", name)
		}
	}
	held, err := e.GetCertificate(&tls.ClientHelloInfo{ServerName: "www.arena0.example"})
	if err != nil || held == nil {
		t.Fatalf("not served: %v", err)
	}
	sv := e.Index().lookupExact("www.arena0.example")[0]
	if sv.mem == nil || !inChunk(sv.mem.mem, sv.leaf()) || !inChunk(sv.mem.mem, sv.sealed()) {
		t.Fatal("the certificate's bytes are not in an arena chunk")
	}
	chunk := weak.Make(sv.mem)
	sv = nil
	// A whole new index, as the edge's reload after a pruned feed builds:
	// the old one goes, with every served that held its chunks.
	states, rev, err := src.Load(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	e.index.Store(load(e.seed, states, rev+1, now, false))
	e.cache.Store(newCertCache(4)) // the entries built from the old index go too
	deadline := time.Now().Add(10 * time.Second)
	for chunk.Value() != nil {
		if time.Now().After(deadline) {
			t.Fatal("the old index's arena chunk is still held")
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	runtime.GC() // the chunk's cleanup runs (unmaps it) once it is unreachable
	time.Sleep(100 * time.Millisecond)
	leaf, err := x509.ParseCertificate(held.Certificate[0])
	if err != nil || !bytes.Equal(leaf.Raw, leaves["www.arena0.example"]) {
		t.Fatalf("a built certificate lost its bytes with the chunk: %v", err)
	}
	for name, want := range leaves { // served again, from the new index's chunk
		chain, err := handshake(t, addr, name, nil)
		if err != nil || !bytes.Equal(chain[0].Raw, want) {
			t.Fatalf("%s after the reload: %v", name, err)
		}
	}
}

// inChunk reports whether b lies within mem.
func inChunk(mem, b []byte) bool {
	start := uintptr(unsafe.Pointer(unsafe.SliceData(mem)))
	at := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return at >= start && at+uintptr(len(b)) <= start+uintptr(len(mem))
}

// TestSameHostPolicy: sameHostPolicy compares every field of HostPolicy
// (a new field must be added to it, or sites would share a policy that is
// not theirs), and a site with the default policy shares the one copy.
func TestSameHostPolicy(t *testing.T) {
	compared := []string{"HTTPS", "HTTP2", "MinVersion", "MaxVersion", "VersionsOff", "CipherSuites", "Force", "ForceCode", "HSTS",
		"OCSP", "NoSNIDeny", "SNIAllow", "HTTP3", "AltSvc", "Origin"}
	rt := reflect.TypeOf(HostPolicy{})
	if rt.NumField() != len(compared) {
		t.Fatalf("HostPolicy has %d fields, sameHostPolicy compares %d: add the new one", rt.NumField(), len(compared))
	}
	for i, name := range compared {
		if rt.Field(i).Name != name {
			t.Fatalf("HostPolicy field %d is %s, sameHostPolicy expects %s", i, rt.Field(i).Name, name)
		}
	}
	if sharedPolicy(DefaultSitePolicy()) != &defaultSitePolicy {
		t.Error("the default policy is not shared")
	}
	other := DefaultSitePolicy()
	other.Default.Origin.HTTPSPort = 8443
	if p := sharedPolicy(other); p == &defaultSitePolicy || p.Default.Origin.HTTPSPort != 8443 {
		t.Error("a policy differing in one nested field was taken for the default")
	}
	other = DefaultSitePolicy()
	other.Default.SNIAllow = []string{"a.example"}
	if sharedPolicy(other) == &defaultSitePolicy {
		t.Error("a policy with an SNI allowlist was taken for the default")
	}
}
