package edge

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"net"
	"strings"

	"github.com/esacert/esacert/internal/ticketkey"
)

// Session resumption. With Edge.Tickets set, the edge issues TLS 1.3 and
// TLS 1.2 session tickets sealed with the fleet's ticket keys (see
// internal/ticketkey: the newest key seals, the one before it still opens,
// so a visitor resumes on any node and across one rotation). A ticket
// carries, besides Go's session state, what it was issued for: the name
// the visitor asked for, the certificate served (its id, SHA-256
// fingerprint and key type). A resumed session is accepted only if, now:
//
//   - the visitor asks for the same name (without SNI: the NoSNIHost is
//     the same, see sni.go);
//   - the index would still serve that certificate for that name: the
//     first usable candidate of its key type (exact names before
//     wildcards, unexpired, its site answering the host on the connection:
//     HTTPS on, the name in its SNI allowlist, not paused, IPv6 allowed; for a
//     Must-Staple certificate, a good OCSP response at hand) is that
//     certificate, with the same fingerprint;
//   - the host's TLS versions and cipher suites allow the session's
//     (crypto/tls checks them against the host's configuration);
//   - on a host that asks for client certificates, the session carries one
//     and it is accepted now (crypto/tls runs VerifyConnection, which is
//     verifyClient, on resumed handshakes too; see clientauth.go).
//
// Otherwise the ticket is ignored and the handshake is a full one (which
// then serves whatever the index says, or fails). Since every check reads
// the index being served, a change reaches resumed sessions as fast as it
// reaches full handshakes: within a poll of the change feed. 0-RTT is never
// accepted (crypto/tls's server has none). Over TCP the ticket is opened and
// checked when the hello arrives, so that a session from a post-quantum key
// exchange can resume with X25519 (see resumekex.go); crypto/tls's
// UnwrapSession then takes that verdict, unless a HelloRetryRequest came
// between (then the second hello's ticket is checked when it comes).

// TicketKeys gives the keys that seal and open session tickets;
// *ticketkey.Keeper is one. Keys must be safe for concurrent use and fast:
// it is called on every handshake.
type TicketKeys interface {
	Keys() ticketkey.Set
}

// bindingTag starts the SessionState.Extra entry that says what a ticket
// was issued for.
const bindingTag = "esacert-resume/1\x00"

// binding is what a session was issued for.
type binding struct {
	name string
	id   string
	fp   [32]byte
	rsa  bool
	// entry is the Extra entry b was decoded from (its session's, which
	// nothing changes), encode's result as it is; nil for a new binding.
	entry []byte
}

func (b *binding) encode() []byte {
	if b.entry != nil {
		return b.entry
	}
	out := make([]byte, 0, len(bindingTag)+1+32+2+len(b.id)+len(b.name))
	out = append(out, bindingTag...)
	if b.rsa {
		out = append(out, 1)
	} else {
		out = append(out, 0)
	}
	out = append(out, b.fp[:]...)
	out = binary.BigEndian.AppendUint16(out, uint16(len(b.id)))
	out = append(out, b.id...)
	return append(out, b.name...)
}

// decodeBinding finds the binding among a session's Extra.
func decodeBinding(extra [][]byte) (*binding, bool) {
	for _, x := range extra {
		rest, ok := bytes.CutPrefix(x, []byte(bindingTag))
		if !ok {
			continue
		}
		if len(rest) < 1+32+2 {
			return nil, false
		}
		b := &binding{rsa: rest[0] == 1}
		copy(b.fp[:], rest[1:33])
		n := int(binary.BigEndian.Uint16(rest[33:35]))
		rest = rest[35:]
		if len(rest) < n {
			return nil, false
		}
		idName := string(rest) // one copy for both
		b.id, b.name, b.entry = idName[:n], idName[n:], x
		return b, true
	}
	return nil, false
}

// handshakeTickets is one handshake's part in resumption: the certificate
// GetCertificate served, or the binding of the session resumed; and the
// ticket checked when the hello came, if any (classicalResumption).
type handshakeTickets struct {
	conn      net.Conn
	served    *tls.Certificate
	resumed   *binding
	resumedPQ bool // the session resumed rests on a post-quantum key exchange
	// resumedPlain is the session resumed as its ticket carried it, when
	// unwrapSession opened the ticket (a TLS 1.2 session's always: the
	// hello's verdict, classicalResumption, is on TLS 1.3 tickets); a
	// resumed TLS 1.2 session's next ticket seals it again (wrapSession).
	resumedPlain []byte

	checked     []byte            // the ticket checked at the hello
	checkedSS   *tls.SessionState // its session, if it may resume; else nil
	checkedBind *binding
	checkedKex  kex
}

// resumableConfigFor is the HTTPS listener's GetConfigForClient when
// tickets are on: the host's configuration (configFor), cloned for this
// handshake so that its tickets know what was served.
func (e *Edge) resumableConfigFor(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	var raw []byte // the hello's bytes, as ServeHTTPS's listener read them
	if hc, ok := hello.Conn.(*hsConn); ok {
		raw = hc.keptHello()
		defer hc.dropHello()
	}
	c, err := e.configFor(hello)
	if err != nil {
		return nil, err
	}
	if c == nil {
		c = e.base
	}
	if c.SessionTicketsDisabled {
		return c, nil
	}
	return e.ticketed(c, hello, raw), nil
}

// ticketed returns a clone of c for one handshake on hello's connection
// whose tickets know what was served; raw is the hello's bytes, when at
// hand (see classicalResumption), which it does not keep.
func (e *Edge) ticketed(c *tls.Config, hello *tls.ClientHelloInfo, raw []byte) *tls.Config {
	h := &handshakeTickets{conn: hello.Conn}
	cc := c.Clone()
	cc.GetConfigForClient = nil
	if e.classicalResumption(h, c, hello, raw) {
		cc.CurvePreferences = classicalGroups
	}
	if get := c.GetCertificate; get != nil {
		cc.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			crt, err := get(hello)
			h.served = crt
			return crt, err
		}
	}
	cc.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		return e.wrapSession(h, cs, ss)
	}
	cc.UnwrapSession = func(ticket []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		return e.unwrapSession(h, ticket, cs)
	}
	return cc
}

// noTicket is issued when no key seals tickets yet: no key opens it.
var noTicket = []byte{0}

// wrapSession seals a session and what it was issued for into a ticket.
// It never fails the handshake: a session it cannot bind gets a ticket
// that is never accepted.
func (e *Edge) wrapSession(h *handshakeTickets, cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
	key := e.Tickets.Keys().Current()
	if key == nil || h == nil {
		return noTicket, nil
	}
	// A resumed session's next ticket is bound as the session was: to the
	// certificate its ticket named, which unwrapSession found the index
	// still serving. (A TLS 1.2 hello has GetCertificate called before the
	// ticket is looked at, so h.served is set then too; TLS 1.3 does not.)
	var b *binding
	switch {
	case cs.DidResume && h.resumed != nil && cs.Version < tls.VersionTLS13 && h.resumedPlain != nil:
		// A resumed TLS 1.2 session is the one its ticket carried:
		// crypto/tls checks that its version and cipher suite are the
		// connection's and takes its secret, creation time, key exchange and
		// client certificates from it, and its binding and kex are the ones
		// computed below. So its ticket's bytes are sealed again, under the
		// current key and a new nonce (the ticket differs, so a network
		// observer cannot link the visits), rather than encoded anew: the
		// same bytes (the encoding keeps an ALPN protocol only for early
		// data, which TLS 1.2 has none of).
		ticket, err := key.Seal(h.resumedPlain)
		if err != nil {
			return noTicket, nil
		}
		return ticket, nil
	case cs.DidResume && h.resumed != nil:
		b = h.resumed
	case h.served != nil && len(h.served.Certificate) > 0:
		b = e.bindingOf(e.connHost(&cs), h.served.Certificate[0])
	}
	if b == nil {
		return noTicket, nil
	}
	k := kex{clientCert: len(cs.PeerCertificates) > 0,
		pq: isPQ(cs.CurveID) || cs.DidResume && h.resumed != nil && h.resumedPQ}
	extra := ss.Extra[:0:0]
	for _, x := range ss.Extra { // a resumed session's entries are replaced, not added to
		if !bytes.HasPrefix(x, []byte(bindingTag)) && !bytes.HasPrefix(x, []byte(kexTag)) {
			extra = append(extra, x)
		}
	}
	ss.Extra = append(extra, b.encode(), k.encode())
	plain, err := ss.Bytes()
	if err != nil {
		return noTicket, nil
	}
	ticket, err := key.Seal(plain)
	if err != nil {
		return noTicket, nil
	}
	return ticket, nil
}

// bindingOf finds, among the certificates the index has for host, the one
// whose leaf is leaf.
func (e *Edge) bindingOf(host string, leaf []byte) *binding {
	ix := e.index.Load()
	for _, set := range [2]candidates{ix.lookupExact(host), ix.lookupWild(host)} {
		for _, sv := range set {
			if bytes.Equal(sv.leaf(), leaf) {
				return &binding{name: host, id: sv.id(), fp: sha256.Sum256(leaf), rsa: sv.rsa}
			}
		}
	}
	return nil
}

// unwrapSession opens a ticket and returns its session if it may resume
// now (see the top of this file); nil, for a full handshake, otherwise.
func (e *Edge) unwrapSession(h *handshakeTickets, ticket []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
	if h == nil {
		return nil, nil
	}
	// The verdict of the hello stands for the same ticket in the same
	// hello; after a HelloRetryRequest the second hello comes a round trip
	// later (up to the handshake timeout), and is checked now.
	if h.checked != nil && !cs.HelloRetryRequest && bytes.Equal(ticket, h.checked) {
		if h.checkedSS != nil {
			h.resumed, h.resumedPQ = h.checkedBind, h.checkedKex.pq
		}
		return h.checkedSS, nil
	}
	ss, b, k, plain := e.openTicket(ticket, e.connHost(&cs), h.conn)
	if ss != nil {
		h.resumed, h.resumedPQ, h.resumedPlain = b, k.pq, plain
	}
	return ss, nil
}

// openTicket opens a ticket and returns its session, binding and key
// exchange if it may resume now on conn for host (see the top of this
// file), with the plaintext; a nil session otherwise.
func (e *Edge) openTicket(ticket []byte, host string, conn net.Conn) (*tls.SessionState, *binding, kex, []byte) {
	plain, ok := e.Tickets.Keys().Open(ticket)
	if !ok {
		return nil, nil, kex{}, nil
	}
	ss, err := tls.ParseSessionState(plain)
	if err != nil {
		return nil, nil, kex{}, nil
	}
	b, ok := decodeBinding(ss.Extra)
	if !ok || !e.stillServes(b, host, conn) {
		return nil, nil, kex{}, nil
	}
	return ss, b, decodeKex(ss.Extra), plain
}

// stillServes reports whether the index being served would serve b's
// certificate for host on conn now.
func (e *Edge) stillServes(b *binding, host string, conn net.Conn) bool {
	if host == "" || host != b.name || strings.HasPrefix(host, "*") {
		return false
	}
	ix := e.index.Load()
	now := e.now()
	set := ix.lookupExact(host)
	if !anyUsable(set, host, now, conn) {
		set = ix.lookupWild(host)
	}
	for _, sv := range set {
		if sv.rsa != b.rsa || !sv.usableAt(now) || !sv.site.answers(host, conn) {
			continue
		}
		ent := e.materialize(sv)
		if ent.c == nil || e.staple(sv, ent, host, now) == nil { // as GetCertificate skips it
			continue
		}
		return sv.id() == b.id && ent.leafSum == b.fp // the entry's leaf is sv's (certcache.go)
	}
	return false
}
