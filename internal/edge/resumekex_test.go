package edge

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
)

// TestResumptionKeyExchange: a TLS 1.3 session that came from the hybrid
// post-quantum key exchange resumes with X25519 (and so does the session it
// re-issues), and every other handshake keeps the hybrid one: a full
// handshake, one whose ticket no longer resumes, the resumption of a
// session that came from X25519, one whose hello has no X25519 key share,
// one on a host asking for client certificates, and any with ResumeHybrid.
func TestResumptionKeyExchange(t *testing.T) {
	type want struct {
		resumed bool
		group   tls.CurveID
	}
	check := func(t *testing.T, w *resumeWorld, cfg *tls.Config, exp want) {
		t.Helper()
		cs, err := visitState(w.addr, "www.example.com", cfg)
		if err != nil || cs.DidResume != exp.resumed || cs.CurveID != exp.group {
			t.Fatalf("resumed %v with %v, %v; want resumed %v with %v", cs.DidResume, cs.CurveID, err, exp.resumed, exp.group)
		}
	}
	full, resumedPQ := want{false, tls.X25519MLKEM768}, want{true, tls.X25519MLKEM768}
	resumedClassical := want{true, tls.X25519}

	t.Run("default", func(t *testing.T) {
		w := newResumeWorld(t)
		cfg := clientConfig(tls.VersionTLS13)
		check(t, w, cfg, full)
		check(t, w, cfg, resumedClassical)
		check(t, w, cfg, resumedClassical) // the ticket the resumption re-issued

		// The certificate replaced: the ticket does not resume, and the full
		// handshake keeps the hybrid key exchange.
		replaced, leaf := w.f.certificate("ecdsa-p256", now.Add(90*24*time.Hour), "www.example.com")
		replaced.ID = w.st.Certificates[0].ID
		var err error
		if replaced.SealedKey, err = cert.SealKey(w.f.sealer, replaced.ID, []byte(leaf.KeyPEM)); err != nil {
			t.Fatal(err)
		}
		w.st.Certificates = []cert.Certificate{replaced}
		w.apply()
		check(t, w, cfg, full)
		check(t, w, cfg, resumedClassical)

		// Resuming with only a hybrid key share: no HelloRetryRequest for
		// X25519, the hybrid key exchange.
		pqOnly := cfg.Clone()
		pqOnly.CurvePreferences = []tls.CurveID{tls.X25519MLKEM768}
		check(t, w, pqOnly, resumedPQ)
	})

	t.Run("classical session", func(t *testing.T) {
		w := newResumeWorld(t)
		classical := clientConfig(tls.VersionTLS13)
		classical.CurvePreferences = []tls.CurveID{tls.X25519}
		check(t, w, classical, want{false, tls.X25519})
		// The same session offered with the hybrid key share: its secret
		// rests on X25519 alone, so the hybrid key exchange is kept.
		hybrid := classical.Clone()
		hybrid.CurvePreferences = nil
		check(t, w, hybrid, resumedPQ)
		// That resumption's ticket rests on ML-KEM now.
		check(t, w, hybrid, resumedClassical)
	})

	t.Run("ResumeHybrid", func(t *testing.T) {
		w := newResumeWorldWith(t, func(e *Edge) { e.ResumeHybrid = true })
		cfg := clientConfig(tls.VersionTLS13)
		check(t, w, cfg, full)
		check(t, w, cfg, resumedPQ)
		check(t, w, cfg, resumedPQ)
	})

	t.Run("client certificates", func(t *testing.T) {
		w := newResumeWorld(t)
		mt := newMTLSWorld(t)
		issued, pair := clientLeaf(t, mt.issuer, "visitor")
		w.st.ClientCAs = []ClientCA{{ID: "issuer", Certs: [][]byte{mt.issuer.Cert.Raw}, Hostnames: []string{"www.example.com"},
			Issued: true, Active: []string{fp(issued.Cert.Raw)}}}
		w.apply()
		cfg := clientConfig(tls.VersionTLS13)
		cfg.Certificates = []tls.Certificate{pair}
		check(t, w, cfg, full)
		check(t, w, cfg, resumedPQ)
	})
}

// TestReadHelloOffer reads the ticket and key shares of a Go client's
// ClientHello offering a session, whole and split over records.
func TestReadHelloOffer(t *testing.T) {
	w := newResumeWorld(t)
	cfg := clientConfig(tls.VersionTLS13)
	if _, _, err := visit(t, w.addr, "www.example.com", cfg); err != nil {
		t.Fatal(err)
	}
	cfg.ServerName, cfg.InsecureSkipVerify = "www.example.com", true
	c1, c2 := net.Pipe()
	defer c2.Close()
	go func() {
		tls.Client(c1, cfg).Handshake()
		c1.Close()
	}()
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(c2, hdr); err != nil {
		t.Fatal(err)
	}
	hello := append(hdr, make([]byte, int(hdr[3])<<8|int(hdr[4]))...)
	if _, err := io.ReadFull(c2, hello[5:]); err != nil {
		t.Fatal(err)
	}
	o, ok := readHelloOffer(hello)
	if !ok || len(o.ticket) < 16 || !o.x25519 || !o.dhe {
		t.Fatalf("offer %+v, %v; want a ticket, an X25519 key share and psk_dhe_ke", o, ok)
	}
	// The same hello in records of 100 bytes.
	var split []byte
	for body := hello[5:]; len(body) > 0; {
		n := min(100, len(body))
		split = append(split, 22, 3, 1, 0, byte(n))
		split = append(split, body[:n]...)
		body = body[n:]
	}
	if o2, ok := readHelloOffer(split); !ok || !bytes.Equal(o2.ticket, o.ticket) || o2.x25519 != o.x25519 || o2.dhe != o.dhe {
		t.Fatalf("split over records: %+v, %v; want %+v", o2, ok, o)
	}
	// Cut short, or not a handshake: no offer.
	for _, bad := range [][]byte{hello[:len(hello)-1], split[:len(split)-1], nil, append([]byte{23}, hello[1:]...)} {
		if _, ok := readHelloOffer(bad); ok {
			t.Fatalf("an offer read from %d bad bytes", len(bad))
		}
	}
}

// FuzzReadHelloOffer: whatever the bytes, reading a hello offer does not
// panic, and an offer read has a ticket.
func FuzzReadHelloOffer(f *testing.F) {
	f.Add([]byte{22, 3, 1, 0, 4, 1, 0, 0, 0})
	f.Add([]byte{22, 3, 1, 0, 2, 1, 0, 22, 3, 1, 0, 2, 0, 0})
	f.Fuzz(func(t *testing.T, raw []byte) {
		o, ok := readHelloOffer(raw)
		if ok && len(o.ticket) == 0 {
			t.Fatal("an offer without a ticket")
		}
	})
}

// TestTLS13SHA384: the hash of the suite crypto/tls picks is told only
// where its order of preference does not matter.
func TestTLS13SHA384(t *testing.T) {
	aes128, aes256, chacha := tls.TLS_AES_128_GCM_SHA256, tls.TLS_AES_256_GCM_SHA384, tls.TLS_CHACHA20_POLY1305_SHA256
	for _, c := range []struct {
		suites        []uint16
		sha384, known bool
	}{
		{[]uint16{aes128, aes256, chacha}, false, true},
		{[]uint16{aes256, aes128}, false, true},
		{[]uint16{chacha}, false, true},
		{[]uint16{aes256}, true, true},
		{[]uint16{aes256, chacha}, false, false},
		{[]uint16{chacha, aes256}, false, false},
	} {
		if sha384, known := tls13SHA384(c.suites); sha384 != c.sha384 || known != c.known {
			t.Errorf("tls13SHA384(%x) = %v, %v; want %v, %v", c.suites, sha384, known, c.sha384, c.known)
		}
	}
}
