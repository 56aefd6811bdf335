package edge

import (
	"bytes"
	"crypto/fips140"
	"crypto/tls"
	"encoding/binary"
	"slices"
	"time"
)

// The key exchange of a resumed TLS 1.3 handshake.
//
// crypto/tls's server resumes TLS 1.3 only in psk_dhe_ke mode: the
// session's secret (the PSK) and a fresh key exchange, both fed into the
// new connection's keys. By default that key exchange is Go's first choice,
// the hybrid X25519MLKEM768: X25519 plus ML-KEM-768 key generation and
// decapsulation on the client, encapsulation on the server. ML-KEM's part
// alone was a fifth to a quarter of a resumed handshake's CPU time, the
// client's and the server's together (see the README's Benchmarks), for a
// secret that does not need it: the PSK already carries what the original
// handshake's key exchange gave.
//
// So when the edge is about to accept the ticket a hello offers, and that
// session's secret rests on a post-quantum key exchange (the handshake
// that made it used one, or resumed a session that did), the handshake
// uses X25519 (when the hello carries an X25519 key share, so no
// HelloRetryRequest). What that gives up, honestly:
//
//   - Against someone recording the traffic now and breaking X25519 later
//     (a quantum computer), the resumed connection stays secret: its keys
//     need the PSK too, which comes from the original connection, whose
//     ML-KEM they would have to break as well, or from the ticket, which
//     is sealed with AES-256-GCM under a ticket key.
//   - What is lost is post-quantum forward secrecy against the ticket keys:
//     someone who records a resumed connection, later obtains the ticket
//     key that sealed its ticket (while it is kept: two rotation periods,
//     internal/ticketkey) and breaks X25519, reads it. With the hybrid key
//     exchange they would need to break ML-KEM too. Against anyone who
//     cannot break X25519, the resumed connection keeps its forward secrecy
//     as before.
//   - Along a chain of resumptions this adds up: a resumed connection's
//     ticket rests on that connection, itself resumed with X25519 from an
//     earlier ticket, and so on back to the last full handshake. TLS 1.3
//     re-issues a ticket, good for 7 days, on every resumption, so a
//     visitor that comes back often may never make a full handshake
//     again, and then any one ticket key of the chain (with X25519 broken
//     for the connections after it) opens every later connection of the
//     chain; with the hybrid key exchange each resumption adds a fresh
//     ML-KEM secret. A ticket key is kept two rotation periods, but in the
//     database, sealed under the master key: a copy of the database and
//     the master key give the keys of that time too.
//   - A session from a classical key exchange is resumed with the hybrid
//     one, as before (its PSK gives no post-quantum secrecy to lean on).
//
// The choice is made in GetConfigForClient, before crypto/tls picks the key
// exchange and opens the ticket, so the edge opens and checks the ticket
// there (everything unwrapSession checks, and what crypto/tls checks
// after it: TLS 1.3, the hash of the cipher suite it will pick, the 7-day
// lifetime, psk_dhe_ke offered, no client certificate on either side), and
// unwrapSession uses that verdict. A ticket that would not resume keeps the
// hybrid key exchange, so a full handshake is not weakened by it (short of
// crypto/tls refusing a session for a reason not listed here, which would
// give that one handshake X25519 alone; none is known).
// Edge.ResumeHybrid keeps the hybrid key exchange on resumed handshakes
// too, and so does Go's FIPS 140 mode (GODEBUG=fips140=on), in which
// crypto/tls refuses X25519: a handshake restricted to it would fail. This
// needs the hello's bytes: over TCP only (ServeHTTPS keeps them); HTTP/3's
// resumptions keep the hybrid key exchange.

// classicalGroups is the key exchange of a resumption that may use X25519.
var classicalGroups = []tls.CurveID{tls.X25519}

// kexTag starts the SessionState.Extra entry that says what a session's
// secret rests on. A ticket without one (issued before there was one) is
// resumed with the hybrid key exchange.
const kexTag = "esacert-kex/1\x00"

// kex is what a session's secret rests on.
type kex struct {
	pq         bool // a post-quantum key exchange, in the session's handshake or the one it resumed
	clientCert bool // the client sent a certificate
}

func (k kex) encode() []byte {
	var flags byte
	if k.pq {
		flags |= 1
	}
	if k.clientCert {
		flags |= 2
	}
	return append([]byte(kexTag), flags)
}

// decodeKex finds the kex among a session's Extra (the zero kex if none).
func decodeKex(extra [][]byte) kex {
	for _, x := range extra {
		if rest, ok := bytes.CutPrefix(x, []byte(kexTag)); ok && len(rest) == 1 {
			return kex{pq: rest[0]&1 != 0, clientCert: rest[0]&2 != 0}
		}
	}
	return kex{}
}

// isPQ reports whether group is a post-quantum (hybrid) key exchange.
func isPQ(group tls.CurveID) bool {
	switch group {
	case tls.X25519MLKEM768, tls.SecP256r1MLKEM768, tls.SecP384r1MLKEM1024:
		return true
	}
	return false
}

// maxTicketAge is a little less than crypto/tls's limit on a session's age
// (7 days), so that a session checked at the hello is not too old when
// crypto/tls checks it.
const maxTicketAge = 7*24*time.Hour - time.Minute

// classicalResumption reports whether the handshake of hello, under c,
// may use X25519 (see the top of this file): the ticket the hello offers
// will resume. It notes on h the verdict on the ticket, for
// unwrapSession.
func (e *Edge) classicalResumption(h *handshakeTickets, c *tls.Config, hello *tls.ClientHelloInfo, raw []byte) bool {
	if raw == nil || !slices.Contains(hello.Extensions, extPreSharedKey) || fips140.Enabled() {
		return false // in FIPS 140 mode crypto/tls allows no X25519
	}
	o, ok := readHelloOffer(raw)
	if !ok || !o.dhe { // without psk_dhe_ke, crypto/tls opens no ticket
		return false
	}
	ss, b, k, plain := e.openTicket(o.ticket, e.helloHost(hello), hello.Conn)
	// The ticket is kept past the hello's bytes (see hsConn).
	h.checked, h.checkedSS, h.checkedBind, h.checkedKex = bytes.Clone(o.ticket), ss, b, k
	if ss == nil || e.ResumeHybrid || !k.pq || !o.x25519 ||
		k.clientCert || c.ClientAuth != tls.NoClientCert || !slices.Contains(hello.SupportedCurves, tls.X25519) ||
		c.MaxVersion != 0 && c.MaxVersion < tls.VersionTLS13 || !slices.Contains(hello.SupportedVersions, tls.VersionTLS13) {
		return false
	}
	version, suite, created, ok := sessionHeader(plain)
	sha384, known := tls13SHA384(hello.CipherSuites)
	// crypto/tls's clock (the configuration sets no Time), not e.now.
	return ok && known && version == tls.VersionTLS13 && time.Since(created) < maxTicketAge &&
		(suite == tls.TLS_AES_256_GCM_SHA384) == sha384
}

// sessionHeader reads the version, cipher suite and creation time at the
// start of an encoded tls.SessionState (its encoding, as its documentation
// gives it: uint16 version, uint8 type, uint16 cipher_suite, uint64
// created_at).
func sessionHeader(plain []byte) (version, suite uint16, created time.Time, ok bool) {
	if len(plain) < 13 {
		return 0, 0, time.Time{}, false
	}
	return binary.BigEndian.Uint16(plain), binary.BigEndian.Uint16(plain[3:]),
		time.Unix(int64(binary.BigEndian.Uint64(plain[5:])), 0), true
}

// tls13SHA384 reports whether the TLS 1.3 cipher suite crypto/tls's server
// picks for a client offering suites hashes with SHA-384 (a session
// resumes only under a suite of the same hash), and whether that can be
// told without knowing crypto/tls's order of preference (AES-GCM first or
// ChaCha20-Poly1305 first, by the hardware and the client's order): with
// AES-128-GCM offered, a SHA-256 suite (it or ChaCha20-Poly1305) is picked;
// without it, AES-256-GCM (SHA-384) is picked unless ChaCha20-Poly1305 is
// offered too, when the order decides.
func tls13SHA384(suites []uint16) (sha384, known bool) {
	var aes128, aes256, chacha bool
	for _, s := range suites {
		switch s {
		case tls.TLS_AES_128_GCM_SHA256:
			aes128 = true
		case tls.TLS_AES_256_GCM_SHA384:
			aes256 = true
		case tls.TLS_CHACHA20_POLY1305_SHA256:
			chacha = true
		}
	}
	switch {
	case aes128:
		return false, true
	case aes256 && chacha:
		return false, false
	}
	return aes256, true
}
