package edge

import (
	"bytes"
	"crypto/fips140"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"golang.org/x/crypto/cryptobyte"
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
	// A whole hello offering two tickets, and the same over two records,
	// so that the fuzzer starts from the extensions read.
	hello := seedHello()
	f.Add(hello)
	body := hello[5:]
	f.Add(slices.Concat([]byte{22, 3, 1, 0, 40}, body[:40], []byte{22, 3, 1, byte((len(body) - 40) >> 8), byte(len(body) - 40)}, body[40:]))
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

// TestResumptionAfterHelloRetry: a ticket checked at the first ClientHello
// is checked again when crypto/tls opens it after a HelloRetryRequest: the
// second hello comes a round trip later, up to the handshake timeout, and
// a certificate replaced meanwhile must not be resumed (a new hello's
// would not). A client that offers X25519MLKEM768 without its key share
// (and no X25519 share: the hybrid exchange is kept) gets the
// HelloRetryRequest; Go's client always sends the share of its first
// group, so the test drives the TLS server's callbacks itself: a Go
// client's hello, resumableConfigFor as the listener calls it, then the
// UnwrapSession crypto/tls makes after the retry.
func TestResumptionAfterHelloRetry(t *testing.T) {
	w := newResumeWorld(t)
	cfg := clientConfig(tls.VersionTLS13)
	if cs, err := visitState(w.addr, "www.example.com", cfg); err != nil || cs.DidResume || cs.CurveID != tls.X25519MLKEM768 {
		t.Fatalf("first visit: resumed %v with %v, %v", cs.DidResume, cs.CurveID, err)
	}
	sess, ok := cfg.ClientSessionCache.Get("www.example.com")
	if !ok {
		t.Fatal("no session kept")
	}
	ticket, _, err := sess.ResumptionState()
	if err != nil || len(ticket) == 0 {
		t.Fatalf("no ticket: %v", err)
	}

	// The hello, through the TLS server and the listener's hsConn.
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	hello := cfg.Clone()
	hello.ServerName, hello.InsecureSkipVerify = "www.example.com", true
	go tls.Client(c1, hello).Handshake()
	cc := w.configAtHello(t, c2)
	retried := tls.ConnectionState{Version: tls.VersionTLS13, ServerName: "www.example.com", HelloRetryRequest: true}
	if ss, err := cc.UnwrapSession(ticket, retried); ss == nil || err != nil {
		t.Fatalf("after a retry, nothing changed: session %v, %v; want the session", ss != nil, err)
	}

	// The certificate replaced before the second hello.
	replaced, leaf := w.f.certificate("ecdsa-p256", now.Add(90*24*time.Hour), "www.example.com")
	replaced.ID = w.st.Certificates[0].ID
	if replaced.SealedKey, err = cert.SealKey(w.f.sealer, replaced.ID, []byte(leaf.KeyPEM)); err != nil {
		t.Fatal(err)
	}
	w.st.Certificates = []cert.Certificate{replaced}
	w.apply()
	if ss, err := cc.UnwrapSession(ticket, retried); ss != nil || err != nil {
		t.Fatalf("after a retry, the certificate replaced: session %v, %v; want none", ss != nil, err)
	}
}

// testHello is a TLS 1.3 ClientHello record for name offering tickets,
// with groups as supported_groups and a key share for each of
// X25519MLKEM768 and X25519 among them, and psk_dhe_ke.
func testHello(name string, groups []tls.CurveID, tickets ...[]byte) []byte {
	var b cryptobyte.Builder
	b.AddUint8(1) // client_hello
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint16(tls.VersionTLS12)
		b.AddBytes(make([]byte, 32))                                                           // random
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, 32)) }) // session id
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint16(tls.TLS_AES_128_GCM_SHA256) })
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(0) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			ext := func(typ uint16, data func(b *cryptobyte.Builder)) {
				b.AddUint16(typ)
				b.AddUint16LengthPrefixed(data)
			}
			ext(0, func(b *cryptobyte.Builder) { // server_name
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
					b.AddUint8(0) // host_name
					b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(name)) })
				})
			})
			ext(10, func(b *cryptobyte.Builder) { // supported_groups
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
					for _, g := range groups {
						b.AddUint16(uint16(g))
					}
				})
			})
			ext(43, func(b *cryptobyte.Builder) { // supported_versions
				b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint16(tls.VersionTLS13) })
			})
			ext(extKeyShare, func(b *cryptobyte.Builder) {
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
					for _, ks := range []struct {
						group tls.CurveID
						n     int
					}{{tls.X25519MLKEM768, 1216}, {tls.X25519, 32}} {
						if slices.Contains(groups, ks.group) {
							b.AddUint16(uint16(ks.group))
							b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, ks.n)) })
						}
					}
				})
			})
			ext(extPSKModes, func(b *cryptobyte.Builder) {
				b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(pskModeDHE) })
			})
			ext(extPreSharedKey, func(b *cryptobyte.Builder) {
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
					for _, ticket := range tickets {
						b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(ticket) })
						b.AddUint32(0) // obfuscated_ticket_age
					}
				})
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
					for range tickets {
						b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, 32)) })
					}
				})
			})
		})
	})
	msg := b.BytesOrPanic()
	return append([]byte{22, 3, 1, byte(len(msg) >> 8), byte(len(msg))}, msg...)
}

// seedHello is a hello offering two tickets, with both key shares.
func seedHello() []byte {
	return testHello("www.example.com", []tls.CurveID{tls.X25519MLKEM768, tls.X25519},
		[]byte("first ticket"), []byte("second ticket"))
}

// TestSeedHello: the fuzzer's seed hello reads as the offer of its first
// ticket.
func TestSeedHello(t *testing.T) {
	o, ok := readHelloOffer(seedHello())
	if !ok || string(o.ticket) != "first ticket" || !o.x25519 || !o.dhe {
		t.Fatalf("offer %+v, %v", o, ok)
	}
}

// TestResumptionKeyExchangeFIPS: with Go's FIPS 140 mode on
// (GODEBUG=fips140=on), where crypto/tls allows no X25519, a hybrid
// session offered with an X25519 key share (as a browser offers it) keeps
// the hybrid key exchange: restricting the handshake to X25519 would leave
// it no key exchange at all, and every such resumption would fail. The
// test runs itself again in that mode; in the usual one, the same hello
// resumes with X25519 (so the hello is one that would).
func TestResumptionKeyExchangeFIPS(t *testing.T) {
	w := newResumeWorld(t)
	cfg := clientConfig(tls.VersionTLS13)
	if cs, err := visitState(w.addr, "www.example.com", cfg); err != nil || cs.CurveID != tls.X25519MLKEM768 {
		t.Fatalf("first visit: %v, %v", cs.CurveID, err)
	}
	sess, ok := cfg.ClientSessionCache.Get("www.example.com")
	if !ok {
		t.Fatal("no session kept")
	}
	ticket, _, err := sess.ResumptionState()
	if err != nil {
		t.Fatal(err)
	}
	hello := testHello("www.example.com", []tls.CurveID{tls.X25519MLKEM768, tls.X25519}, ticket)
	c1, c2 := net.Pipe()
	defer c1.Close()
	go func() {
		c1.Write(hello)
		io.Copy(io.Discard, c1)
	}()
	cc := w.configAtHello(t, c2)
	c2.Close()
	classical := slices.Equal(cc.CurvePreferences, classicalGroups)
	if fips140.Enabled() {
		if classical {
			t.Fatal("FIPS 140 mode: the resumption is restricted to X25519, which crypto/tls refuses in it")
		}
		return
	}
	if !classical {
		t.Fatal("the hello does not resume with X25519")
	}
	if os.Getenv("ESACERT_TEST_FIPS_CHILD") != "" {
		t.Fatal("FIPS 140 mode is not on in the child")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestResumptionKeyExchangeFIPS$", "-test.count=1")
	cmd.Env = append(os.Environ(), "GODEBUG=fips140=on", "ESACERT_TEST_FIPS_CHILD=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("in FIPS 140 mode: %v\n%s", err, out)
	}
}

// configAtHello reads a ClientHello from conn through the TLS server and
// the listener's hsConn, and returns the configuration the edge chose for
// it (resumableConfigFor), stopping the handshake there.
func (w *resumeWorld) configAtHello(t *testing.T, conn net.Conn) *tls.Config {
	t.Helper()
	var cc *tls.Config
	stop := errors.New("stop at the hello")
	srv := w.e.base.Clone()
	srv.GetConfigForClient = func(chi *tls.ClientHelloInfo) (*tls.Config, error) {
		var err error
		if cc, err = w.e.resumableConfigFor(chi); err != nil {
			return nil, err
		}
		return nil, stop
	}
	if err := tls.Server(&hsConn{Conn: conn, keepHello: true}, srv).Handshake(); !errors.Is(err, stop) {
		t.Fatalf("handshake: %v", err)
	}
	return cc
}
