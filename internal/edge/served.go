package edge

import (
	"encoding/pem"
	"iter"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/esacert/esacert/internal/cert"
)

// served is one certificate as the index keeps it: only what a lookup
// needs and what its tls.Certificate is built from. The built certificate
// (unsealed key, chain; no parsed leaf) lives in the edge's bounded cache, keyed by
// id and fp (see certcache.go).
//
// The collector reads every pointer word of every served at each cycle,
// and at 100,000 certificates the served are the index's largest part:
// each pointer word that is set costs a cycle 15 to 30 ns whatever it
// points to (a string in a slab, a chunk outside the heap), a nil one a
// tenth of that, so a served has as few as it can (6, where it had 12),
// and as few set: its strings are one string (strs), its leaf and sealed
// key one run of bytes (bytes), the rest of its chain one
// slice shared by the certificates that have the same (internTail), and
// its expiry two numbers, not a time.Time (whose location is a pointer).
// BenchmarkIndexMark measures what a cycle costs.
type served struct {
	self [1]*served // the candidates of a name only it has (see below); first, in the cache line a lookup reads
	site *siteConf
	strs string   // the id (idLen bytes), then each name as a 2-byte length and its bytes (names)
	tail [][]byte // DER of the rest of the chain, shared (internTail); nil when there is none
	// The leaf's DER (leafLen bytes), then the sealed key, size bytes in
	// all: from off in an arena chunk (mem, arena.go), or on the heap
	// (heap; nil when in a chunk). A chunk is known by its one pointer,
	// not by one more into it, which the collector would read as well.
	mem  *arenaChunk
	heap *byte
	off  uint32
	size uint32
	fp   uint64        // certFingerprint of id, leaf, sealed key and the rest of the chain
	hint atomic.Uint64 // the cache entry used last (certEntry.hint, certcache.go)
	// notAfter is the leaf's NotAfter, in seconds and nanoseconds since 1970.
	notAfterSec  int64
	notAfterNsec int32
	leafLen      uint32
	idLen        uint32
	rsa          bool
}

// The candidates of a name only one certificate has (most names) are its
// self, so that they cost no object of their own: a served is never copied
// (hint may not be), so self stays its own.

// alone returns the candidates of a name that only sv has.
func (sv *served) alone() candidates { return sv.self[:] }

// id is the certificate's id.
func (sv *served) id() string { return sv.strs[:sv.idLen] }

// hamtKey is the certificate's key in its site's hamt (siteEntry.certs):
// its id.
func (sv *served) hamtKey() string { return sv.id() }

// bytes are the leaf's DER, then the sealed key.
func (sv *served) bytes() []byte {
	if sv.mem != nil {
		return sv.mem.mem[sv.off : sv.off+sv.size : sv.off+sv.size]
	}
	return unsafe.Slice(sv.heap, sv.size)
}

// setBytes keeps b as the served's bytes: in chunk (nil: b is on the heap).
func (sv *served) setBytes(b []byte, chunk *arenaChunk) {
	sv.size = uint32(len(b))
	if chunk != nil {
		sv.mem, sv.off = chunk, uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))-uintptr(unsafe.Pointer(unsafe.SliceData(chunk.mem))))
		return
	}
	sv.heap = unsafe.SliceData(b)
}

// leaf is the leaf's DER.
func (sv *served) leaf() []byte { return sv.bytes()[:sv.leafLen:sv.leafLen] }

// sealed is the certificate's sealed private key.
func (sv *served) sealed() []byte { return sv.bytes()[sv.leafLen:] }

// notAfter is the leaf's NotAfter.
func (sv *served) notAfter() time.Time {
	return time.Unix(sv.notAfterSec, int64(sv.notAfterNsec)).UTC()
}

// usableAt reports whether the leaf is still valid at now.
func (sv *served) usableAt(now time.Time) bool {
	s := now.Unix()
	return s < sv.notAfterSec || (s == sv.notAfterSec && now.Nanosecond() < int(sv.notAfterNsec))
}

// names are the names it is served for: exact ones, and "*.parent" for a
// wildcard.
func (sv *served) names() iter.Seq[string] {
	return func(yield func(string) bool) {
		for rest := sv.strs[sv.idLen:]; len(rest) >= 2; {
			n := int(rest[0])<<8 | int(rest[1])
			name := rest[2 : 2+n]
			rest = rest[2+n:]
			if !yield(name) {
				return
			}
		}
	}
}

// hasName reports whether name is one of its names.
func (sv *served) hasName(name string) bool {
	for rest := sv.strs[sv.idLen:]; len(rest) >= 2; {
		n := int(rest[0])<<8 | int(rest[1])
		if rest[2:2+n] == name {
			return true
		}
		rest = rest[2+n:]
	}
	return false
}

// hasWildcard reports whether *.parent is one of its names.
func (sv *served) hasWildcard(parent string) bool {
	for rest := sv.strs[sv.idLen:]; len(rest) >= 2; {
		n := int(rest[0])<<8 | int(rest[1])
		if name := rest[2 : 2+n]; len(name) == len(parent)+2 && name[:2] == "*." && name[2:] == parent {
			return true
		}
		rest = rest[2+n:]
	}
	return false
}

// maxNameLen is the longest name a served keeps (its length takes two
// bytes in strs); a host name is at most 253 bytes, so a longer one never
// matches a handshake's server name.
const maxNameLen = 1<<16 - 1

// candidates are the certificates for one name, best first; the
// candidates of a name only one certificate has are its served.alone. They
// are never changed once in an index.
type candidates []*served

// better orders candidates: unexpired first, then keys other than RSA
// (cheaper handshakes), then the later NotAfter, then the id.
func better(now time.Time) func(a, b *served) bool {
	return func(a, b *served) bool {
		ae, be := !a.usableAt(now), !b.usableAt(now)
		if ae != be {
			return !ae
		}
		if a.rsa != b.rsa {
			return !a.rsa
		}
		if a.notAfterSec != b.notAfterSec {
			return a.notAfterSec > b.notAfterSec
		}
		if a.notAfterNsec != b.notAfterNsec {
			return a.notAfterNsec > b.notAfterNsec
		}
		return a.id() < b.id()
	}
}

// newServed turns one certificate of a served site into what the index
// serves, or nil when it has nothing to serve yet. chain is its chain as
// DER when already decoded (from a snapshot), else nil: ChainPEM is read.
// placed is its leaf and sealed key side by side when the snapshot's
// reader put them there already (with their chunk when in an arena), else
// zero: they are copied side by side into sl's arena. The served, its
// strings, leaf and sealed key come from sl (nil: allocated on their own).
func newServed(c cert.Certificate, chain [][]byte, placed placedBytes, conf *siteConf, sl *slabs) *served {
	if len(c.SealedKey) == 0 || (len(chain) == 0 && c.ChainPEM == "") {
		return nil // nothing to serve yet (a free certificate still being applied for)
	}
	if chain == nil {
		for rest := []byte(c.ChainPEM); len(rest) > 0; {
			var blk *pem.Block
			blk, rest = pem.Decode(rest)
			if blk == nil {
				break
			}
			chain = append(chain, blk.Bytes)
		}
	}
	if len(chain) == 0 {
		return nil
	}
	leaf := chain[0]
	sv := sl.newServed()
	sv.self[0], sv.site, sv.rsa = sv, conf, c.Info.PubAlg == "RSA"
	sv.notAfterSec, sv.notAfterNsec = c.Info.NotAfter.Unix(), int32(c.Info.NotAfter.Nanosecond())
	sv.tail = intermediates.internTail(chain[1:])
	sv.leafLen = uint32(len(leaf))
	if placed.both != nil {
		sv.setBytes(placed.both, placed.chunk)
	} else {
		both, chunk := sl.bytes(len(leaf) + len(c.SealedKey))
		copy(both, leaf)
		copy(both[len(leaf):], c.SealedKey)
		sv.setBytes(both, chunk)
	}
	names := c.Info.SANs
	if len(names) == 0 && c.Info.CommonName != "" {
		names = []string{normalize(c.Info.CommonName)}
	}
	sv.idLen = uint32(len(c.ID))
	sv.strs = sl.packServed(c.ID, names, conf.name)
	sv.fp = certFingerprint(fpSeed, sv.id(), sv.leaf(), sv.sealed(), sv.tail)
	return sv
}

// underSite reports whether a certificate name belongs to site: the site
// itself, a name under it, or a wildcard whose parent is one of those.
func underSite(name, site string) bool {
	name = strings.TrimPrefix(name, "*.")
	return name == site || strings.HasSuffix(name, "."+site)
}
