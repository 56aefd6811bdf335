package edge

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/certcheck"
)

// DefaultCertCache is how many certificates the edge keeps ready to serve
// (private key unsealed) when Edge.CertCache is 0.
const DefaultCertCache = 10_000

// The index keeps per certificate only what a lookup needs (its id, chain
// DER, sealed key, NotAfter, key type). What a handshake needs besides, the
// unsealed private key, is built on the certificate's first handshake and
// kept in a certCache: a bounded number of entries,
// evicted by CLOCK (an entry used again since the hand last passed it gets
// a second chance; one built and never used again goes first, so a scan
// over many names does not push out the busy ones). A certificate evicted
// is built again from its sealed copy on its next handshake.
//
// An entry's key is the certificate's id and a fingerprint of its leaf,
// sealed key and intermediates (served.fp), and a hit also checks the
// leaf's bytes: a replaced certificate (same id, new leaf, or only a new
// chain) never hits the old entry.
// Each served keeps a hint to the entry it used last (served.hint): the
// entry's place in its shard's clock and its sequence number, so a hit
// takes no lock and hashes nothing. The hint is a number, not a pointer:
// an evicted entry is freed whatever hints name it (its place then holds
// another entry, with another number), and a served costs the collector
// no object more for it. (A weak pointer, the earlier hint, was two small
// heap objects per served ever handshaken, kept after the entry's
// eviction: 200,000 more objects for every collection to mark once
// 100,000 names had been served.)
// Concurrent misses for one certificate build it once: the entry is put in
// the cache before it is built, and every handshake that finds it waits on
// its sync.Once.
type certCache struct {
	shards []cacheShard
	mask   uint64
	seed   maphash.Seed
}

// certKey identifies a certificate's content.
type certKey struct {
	id string
	fp uint64
}

// cacheShard is a part of the cache, with its own lock, clock and counts.
type cacheShard struct {
	mu sync.RWMutex
	m  map[certKey]*certEntry
	// ring is the clock: max places, of which the first n are used. A
	// place is read without the lock (by a hint), so each is atomic.
	ring []atomic.Pointer[certEntry]
	n    int
	hand int
	max  int
	// For the metrics (CertCacheStats): lookups that found their entry,
	// entries made (each built once), entries pushed out by the clock.
	hits, misses, evictions atomic.Uint64
	_                       [32]byte // keeps two shards' locks off one cache line
}

// certEntry is one certificate built for handshakes. c, err and must are
// set once, by the first handshake that needs the entry (build).
//
// An entry is small, as the garbage collector marks every entry at each
// cycle: the certificate (c points to cert) and its chain are held in the
// entry itself, and there is no parsed leaf (tls.Certificate.Leaf): the
// server side of crypto/tls needs it only in SupportsCertificate, for
// which GetCertificate checks the name on the DER (supports), and the
// edge reads what it needs of the leaf from the DER once, when it builds
// the entry (Must-Staple). With an ECDSA key built from the leaf's public
// key (cert.ParseStoredKeyFor), an entry is about 1.4 KB in 13 heap
// objects, half of them crypto/ecdsa's own state of the key after its
// first signature (BenchmarkCertBuild).
type certEntry struct {
	key     certKey
	seq     uint64   // tells this entry from every other of the process (entrySeq)
	place   uint32   // its place in its shard's clock
	leaf    []byte   // the leaf's DER, checked on a hit
	leafSum [32]byte // its SHA-256, which a resumed session's binding names (resume.go)
	ref     atomic.Bool
	evicted atomic.Bool // out of the cache; a served's hint to it is stale
	must    bool        // the leaf is Must-Staple (staple.go)
	once    sync.Once
	c       *tls.Certificate // &cert once built, nil if it cannot be
	err     error
	cert    tls.Certificate
	chain   [3][]byte // cert.Certificate for a chain of up to 3 certificates
	// stapled is c with an OCSP staple, for the staple entry it was made
	// from (see staple.go); it goes with the entry when it is evicted.
	stapled atomic.Pointer[stapledCert]
}

// A hint (served.hint) is an entry's seq above hintPlaceBits bits of its
// place; 0 is no hint. A shard has at most 1<<hintPlaceBits places, and
// the process makes fewer than 1<<40 entries.
const (
	hintPlaceBits = 24
	hintPlaceMask = 1<<hintPlaceBits - 1
	maxCertCache  = 64 << hintPlaceBits // 64 shards of the most places a hint can name
)

// entrySeq numbers the entries of the process's caches, from 1.
var entrySeq atomic.Uint64

// hint returns the hint naming ent.
func (ent *certEntry) hint() uint64 { return ent.seq<<hintPlaceBits | uint64(ent.place) }

// newCertCache makes a cache of about size entries (at least 1, at most
// maxCertCache).
func newCertCache(size int) *certCache {
	size = min(max(size, 1), maxCertCache)
	n := 1
	for n < 64 && n*2 <= size/16 { // shards of at least 16 entries, up to 64 shards
		n *= 2
	}
	cc := &certCache{shards: make([]cacheShard, n), mask: uint64(n - 1), seed: maphash.MakeSeed()}
	for i := range cc.shards {
		per := size / n
		if i < size%n {
			per++
		}
		cc.shards[i] = cacheShard{m: make(map[certKey]*certEntry, per), ring: make([]atomic.Pointer[certEntry], per), max: per}
	}
	return cc
}

// certFingerprint is served.fp: a hash of what a built certificate comes
// from, so that a certificate replaced under the same id gets a new key.
func certFingerprint(seed maphash.Seed, id string, leaf, sealed []byte, tail [][]byte) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	h.WriteString(id)
	h.WriteByte(0)
	h.Write(leaf)
	h.WriteByte(0)
	h.Write(sealed)
	for _, der := range tail { // the chain is the entry's too: a new one under the same leaf and key is a new entry
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(der)))
		h.Write(n[:])
		h.Write(der)
	}
	return h.Sum64()
}

// fpSeed seeds every served.fp of the process (the cache's keys must agree
// across indexes).
var fpSeed = maphash.MakeSeed()

// certBuilder builds sv's certificate into ent (cert, chain, must), from the
// entry's copy of the leaf (ent.leaf).
type certBuilder func(sv *served, ent *certEntry) error

// get returns sv's entry, built.
func (cc *certCache) get(sv *served, build certBuilder) *certEntry {
	s := &cc.shards[(sv.fp>>32^sv.fp)&cc.mask]
	if h := sv.hint.Load(); h != 0 { // the entry this served used last, unless evicted since
		if p := h & hintPlaceMask; p < uint64(len(s.ring)) {
			if ent := s.ring[p].Load(); ent != nil && ent.seq == h>>hintPlaceBits && !ent.evicted.Load() {
				s.hits.Add(1)
				ent.used()
				ent.build(sv, build)
				return ent
			}
		}
	}
	k := certKey{sv.id(), sv.fp}
	s.mu.RLock()
	ent := s.m[k]
	s.mu.RUnlock()
	if ent != nil && bytes.Equal(ent.leaf, sv.leaf()) {
		s.hits.Add(1)
		ent.used()
	} else {
		ent = s.add(k, sv)
	}
	sv.hint.Store(ent.hint())
	ent.build(sv, build)
	return ent
}

// build builds the entry once.
func (ent *certEntry) build(sv *served, build certBuilder) {
	ent.once.Do(func() {
		if ent.err = build(sv, ent); ent.err == nil {
			ent.c = &ent.cert
		}
	})
}

// used marks the entry used since the clock's hand last passed it. It
// writes only when the bit changes, so that hits stay off each other's
// cache lines.
func (ent *certEntry) used() {
	if !ent.ref.Load() {
		ent.ref.Store(true)
	}
}

// add puts a new entry for sv in the shard, unless another handshake just
// did, evicting one when the shard is full.
func (s *cacheShard) add(k certKey, sv *served) *certEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ent := s.m[k]; ent != nil && bytes.Equal(ent.leaf, sv.leaf()) {
		s.hits.Add(1)
		return ent
	}
	s.misses.Add(1)
	// Copies of the id and the leaf: sv's id may be in a slab of strings
	// (slab.go) and its leaf in an arena chunk (arena.go), which an entry
	// that outlives the index (it hits across reloads) must not keep.
	k.id = strings.Clone(k.id)
	ent := &certEntry{key: k, seq: entrySeq.Add(1), leaf: bytes.Clone(sv.leaf())}
	ent.leafSum = sha256.Sum256(ent.leaf)
	switch old := s.m[k]; {
	case old != nil: // same id and fingerprint, another leaf: take its place in the clock
		old.evicted.Store(true)
		ent.place = old.place
	case s.n < s.max:
		ent.place = uint32(s.n)
		s.n++
	default:
		for {
			r := s.ring[s.hand].Load()
			if r.ref.Load() {
				r.ref.Store(false)
				s.hand = (s.hand + 1) % s.n
				continue
			}
			delete(s.m, r.key)
			r.evicted.Store(true)
			s.evictions.Add(1)
			ent.place = uint32(s.hand)
			s.hand = (s.hand + 1) % s.n
			break
		}
	}
	s.ring[ent.place].Store(ent)
	s.m[k] = ent
	return ent
}

// len is how many entries the cache holds.
func (cc *certCache) len() int {
	n := 0
	for i := range cc.shards {
		s := &cc.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}

// CertCacheStats describes the edge's cache of certificates built for
// handshakes (for the metrics).
type CertCacheStats struct {
	Hits      uint64 // handshakes that found their certificate built (or being built)
	Misses    uint64 // handshakes that did not: the certificate was built (key unsealed, checked against its leaf)
	Evictions uint64 // certificates pushed out to make room
	Size      int    // certificates held
	Capacity  int    // certificates it holds at most (CertCache)
}

// CertCacheStats returns the counts of the edge's certificate cache since
// the edge started.
func (e *Edge) CertCacheStats() CertCacheStats {
	cc := e.certs()
	var st CertCacheStats
	for i := range cc.shards {
		s := &cc.shards[i]
		st.Hits += s.hits.Load()
		st.Misses += s.misses.Load()
		st.Evictions += s.evictions.Load()
		st.Capacity += s.max
	}
	st.Size = cc.len()
	return st
}

// certs returns the edge's cache, made on first use with CertCache entries.
func (e *Edge) certs() *certCache {
	if cc := e.cache.Load(); cc != nil {
		return cc
	}
	size := e.CertCache
	if size <= 0 {
		size = DefaultCertCache
	}
	e.cache.CompareAndSwap(nil, newCertCache(size))
	return e.cache.Load()
}

// materialize returns sv's certificate built for handshakes (its entry in
// the cache), building it from the sealed key on a miss; ent.c is nil when
// it cannot be built (logged once per build).
func (e *Edge) materialize(sv *served) *certEntry {
	return e.certs().get(sv, e.buildCert)
}

// buildCert unseals sv's key into ent, checking that it is the key of its
// leaf, from the entry's copy of the leaf (ent.leaf): the built certificate
// outlives sv (in the cache, in handshakes under way) and sv's leaf may be
// in an arena chunk (arena.go). A key that is not the leaf's (a database
// changed behind the service's back) is logged and not served.
func (e *Edge) buildCert(sv *served, ent *certEntry) error {
	e.builds.Add(1)
	key, err := cert.OpenKeyFor(e.Sealer, cert.Certificate{ID: sv.id(), SealedKey: sv.sealed()}, ent.leaf)
	switch {
	case errors.Is(err, certcheck.ErrBadCertificate):
		e.log().Error("edge cannot parse a certificate", "certificate", sv.id(), "error", err)
		return err
	case errors.Is(err, certcheck.ErrKeyMismatch):
		e.log().Error("edge does not serve a certificate whose private key does not match it", "certificate", sv.id(), "error", err)
		return err
	case err != nil:
		e.log().Error("edge cannot open a certificate's key", "certificate", sv.id(), "error", err)
		return err
	}
	chain := ent.chain[:0]
	if 1+len(sv.tail) > len(ent.chain) {
		chain = make([][]byte, 0, 1+len(sv.tail))
	}
	chain = append(append(chain, ent.leaf), sv.tail...)
	ent.cert = tls.Certificate{Certificate: chain, PrivateKey: key}
	ent.must = cert.LeafMustStaple(ent.leaf)
	return nil
}

// supports reports whether the client of hello supports c, the
// certificate built in ent (ent.c or its stapled copy), as
// hello.SupportsCertificate does, but without parsing the leaf (which it
// would do on every call for want of c.Leaf): the name is checked on the
// leaf's DER, as x509.Certificate.VerifyHostname would.
func supports(hello *tls.ClientHelloInfo, ent *certEntry, c *tls.Certificate) bool {
	if hello.ServerName == "" {
		return hello.SupportsCertificate(c) == nil
	}
	if !cert.LeafCovers(ent.leaf, hello.ServerName) {
		return false
	}
	h := *hello
	h.ServerName = "" // checked above
	return h.SupportsCertificate(c) == nil
}

// intermediates holds one copy of each intermediate certificate's DER the
// index has seen, so that the many certificates of one CA share it (half
// of a typical chain's bytes). It is cleared when it reaches maxInterned
// distinct ones (certificates keep the copies they have): bounded, however
// many private CAs come and go.
var intermediates interner

const maxInterned = 10_000

type interner struct {
	mu sync.Mutex
	m  map[string][]byte
	// tails are the rests of chains (after the leaf) held, each of
	// interned intermediates: a single intermediate's by its DER, longer
	// ones by appendTailKey's key (a hit is also checked for its length, so
	// the two kinds of key never stand for each other).
	tails map[string][][]byte
	key   []byte // where appendTailKey builds a key, reused
}

// internTail returns the copy held of a chain's rest (its intermediates),
// holding one when there is none; nil for none.
func (in *interner) internTail(tail [][]byte) [][]byte {
	if len(tail) == 0 {
		return nil
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(tail) == 1 { // most chains: looked up by the DER itself, without a key made
		if t, ok := in.tails[string(tail[0])]; ok && len(t) == 1 {
			return t
		}
		in.roomLocked()
		t := [][]byte{in.internLocked(tail[0])}
		in.tails[unsafe.String(unsafe.SliceData(t[0]), len(t[0]))] = t // the interned copy, never written: no copy of its own
		return t
	}
	in.key = appendTailKey(in.key[:0], tail)
	if t, ok := in.tails[string(in.key)]; ok && len(t) == len(tail) { // looked up without a string made
		return t
	}
	in.roomLocked()
	t := make([][]byte, len(tail))
	for i, der := range tail {
		t[i] = in.internLocked(der)
	}
	in.tails[string(in.key)] = t
	return t
}

// roomLocked makes room for one more intermediate and one more tail:
// both are cleared when either is full (what was handed out stays with
// those who have it).
func (in *interner) roomLocked() {
	if in.m == nil || len(in.m) >= maxInterned || len(in.tails) >= maxInterned {
		in.m, in.tails = map[string][]byte{}, map[string][][]byte{}
	}
}

// appendTailKey appends to b the key of a chain's rest of more than one
// certificate: a zero byte (a DER certificate starts with 0x30, so no
// single intermediate's key is one of these), then each certificate's
// length (4 bytes) and DER.
func appendTailKey(b []byte, tail [][]byte) []byte {
	b = append(b, 0)
	for _, der := range tail {
		b = binary.BigEndian.AppendUint32(b, uint32(len(der)))
		b = append(b, der...)
	}
	return b
}

// intern returns the copy held of der, holding der when there is none.
func (in *interner) intern(der []byte) []byte {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.internLocked(der)
}

func (in *interner) internLocked(der []byte) []byte {
	if d, ok := in.m[string(der)]; ok {
		return d
	}
	in.roomLocked()
	der = bytes.Clone(der) // no spare capacity from the PEM decoding
	in.m[string(der)] = der
	return der
}
