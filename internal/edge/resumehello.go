package edge

import (
	"crypto/tls"

	"golang.org/x/crypto/cryptobyte"
)

// What a ClientHello offers for a TLS 1.3 resumption, read from its bytes
// (RFC 8446, section 4.1.2 and 4.2): crypto/tls's ClientHelloInfo says that
// the hello carries a pre_shared_key extension, not which ticket, nor
// which key shares. resume.go needs both before crypto/tls picks the key
// exchange (see classicalResumption there).

// TLS extension numbers (RFC 8446, section 4.2).
const (
	extPreSharedKey = 41
	extPSKModes     = 45
	extKeyShare     = 51
)

// pskModeDHE is psk_dhe_ke (RFC 8446, section 4.2.9): the only mode in
// which crypto/tls's server resumes.
const pskModeDHE = 1

// helloOffer is what a ClientHello offers for resumption.
type helloOffer struct {
	ticket []byte // the first PSK identity: the ticket crypto/tls opens first
	x25519 bool   // the hello carries an X25519 key share
	dhe    bool   // the hello allows psk_dhe_ke
}

// readHelloOffer reads the ClientHello at the start of raw, the bytes read
// of a connection (TLS records, the hello possibly split over several). It
// returns false when raw does not hold a whole, well-formed ClientHello
// offering a ticket. The ticket returned may share raw's memory.
func readHelloOffer(raw []byte) (helloOffer, bool) {
	msg, ok := handshakeMessage(raw)
	if !ok {
		return helloOffer{}, false
	}
	s := cryptobyte.String(msg)
	var typ uint8
	var body, ignored, exts cryptobyte.String
	if !s.ReadUint8(&typ) || typ != 1 || !s.ReadUint24LengthPrefixed(&body) ||
		!body.Skip(2+32) || // legacy_version, random
		!body.ReadUint8LengthPrefixed(&ignored) || // legacy_session_id
		!body.ReadUint16LengthPrefixed(&ignored) || // cipher_suites (crypto/tls reads them)
		!body.ReadUint8LengthPrefixed(&ignored) || // legacy_compression_methods
		!body.ReadUint16LengthPrefixed(&exts) {
		return helloOffer{}, false
	}
	var o helloOffer
	for !exts.Empty() {
		var ext uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&ext) || !exts.ReadUint16LengthPrefixed(&data) {
			return helloOffer{}, false
		}
		switch ext {
		case extKeyShare:
			var shares cryptobyte.String
			if !data.ReadUint16LengthPrefixed(&shares) {
				return helloOffer{}, false
			}
			for !shares.Empty() {
				var group uint16
				var key cryptobyte.String
				if !shares.ReadUint16(&group) || !shares.ReadUint16LengthPrefixed(&key) {
					return helloOffer{}, false
				}
				if tls.CurveID(group) == tls.X25519 && len(key) == 32 {
					o.x25519 = true
				}
			}
		case extPSKModes:
			var modes cryptobyte.String
			if !data.ReadUint8LengthPrefixed(&modes) {
				return helloOffer{}, false
			}
			for _, m := range modes {
				o.dhe = o.dhe || m == pskModeDHE
			}
		case extPreSharedKey:
			var ids, id cryptobyte.String
			if !data.ReadUint16LengthPrefixed(&ids) || !ids.ReadUint16LengthPrefixed(&id) || len(id) == 0 {
				return helloOffer{}, false
			}
			o.ticket = id
		}
	}
	return o, o.ticket != nil
}

// handshakeMessage returns the first handshake message carried by the TLS
// records at the start of raw, and false when raw does not hold all of it.
func handshakeMessage(raw []byte) ([]byte, bool) {
	const recordHeader, handshakeType = 5, 22
	var msg []byte
	for {
		if len(raw) < recordHeader || raw[0] != handshakeType {
			return nil, false
		}
		n := int(raw[3])<<8 | int(raw[4])
		if len(raw) < recordHeader+n {
			return nil, false
		}
		fragment := raw[recordHeader : recordHeader+n]
		raw = raw[recordHeader+n:]
		if msg == nil && len(fragment) >= 4 && len(fragment) >= 4+msgLen(fragment) {
			return fragment[:4+msgLen(fragment)], true // the usual case: one record
		}
		msg = append(msg, fragment...)
		if len(msg) >= 4 && len(msg) >= 4+msgLen(msg) {
			return msg[:4+msgLen(msg)], true
		}
	}
}

// msgLen is the length of the body of the handshake message at the start of
// m (at least 4 bytes).
func msgLen(m []byte) int { return int(m[1])<<16 | int(m[2])<<8 | int(m[3]) }
