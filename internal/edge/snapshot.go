package edge

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"errors"
	"fmt"
	"hash"
	"hash/maphash"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/memtune"
	"github.com/esacert/esacert/internal/origincert"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/sitesetting"
)

// The snapshot is what an edge serves, kept in a local file so that an edge
// started while its store cannot be read serves what it served before
// instead of nothing. It is written from the index itself, one site at a
// time, so keeping it costs no second copy of the certificates in memory.
//
// The file is the magic line, a gob stream (a snapshotHeader, one
// snapshotSite per site, a snapshotSite with ID 0 to end), and the SHA-256 of
// everything before it. An intermediate certificate shared by many
// certificates is written once, where it is first used, and numbered: the
// certificates after it name it by its number. Private keys (of certificates and of origin client
// certificates) stay sealed under the master key; the
// file is still written 0600. It is replaced by rename, so a reader sees the
// old file or the new one, never a part.
const snapshotMagic = "esacert edge snapshot 10\n"

type snapshotHeader struct {
	Rev     int64
	Written time.Time
}

// The snapshot's records hold the edge's own types (SitePolicy, Route):
// TestSnapshotFormat fails when one of them changes, as a reminder to
// change snapshotMagic's version with it.
type snapshotSite struct {
	ID     int64 // 0 ends the sites
	Name   string
	Status string // the site's status; the edge's setting decides whether it is served
	Policy SitePolicy
	// gob cannot tell an empty list from none, but a policy can: an empty
	// CipherSuites leaves TLS 1.2 without suites, a nil one means Go's.
	DefaultNoSuites bool
	HostsNoSuites   []string
	// Inters are the intermediates first used by this site's certificates,
	// numbered on from the last one of the sites before.
	Inters        [][]byte
	Certs         []snapshotCert
	Routes        []Route
	Settings      sitesetting.Settings
	OriginCAs     []snapshotOriginCA
	OriginClients []snapshotOriginClient // keys sealed, as in the store
	ClientCAs     []ClientCA             // mutual TLS from visitors
}

// snapshotOriginCA is an origin CA certificate of a site.
type snapshotOriginCA struct {
	ID      string
	CertPEM string
}

// snapshotOriginClient is an origin client certificate of a site.
type snapshotOriginClient struct {
	ID        string
	Scope     string
	ChainPEM  string
	Sealed    []byte
	Hostnames []string
	Created   time.Time
}

type snapshotCert struct {
	ID       string
	Leaf     []byte // DER
	Inters   []int  // the rest of the chain: intermediates by number (snapshotSite.Inters)
	Sealed   []byte
	NotAfter time.Time
	RSA      bool
	Names    []string // the names the index serves it for; "*.parent" for wildcards
}

// errSnapshotCorrupt reports a snapshot that is not one esacert wrote whole.
var errSnapshotCorrupt = errors.New("the snapshot is damaged")

// interNumbers numbers the intermediates a snapshot has written so far. An
// intermediate the index holds once (interned) is known by the address of
// its bytes; one held twice is written twice, which costs only room.
type interNumbers map[*byte]int

// number returns der's number, adding der to s.Inters when it is new.
func (in interNumbers) number(s *snapshotSite, der []byte) int {
	var at *byte
	if len(der) > 0 {
		if i, ok := in[&der[0]]; ok {
			return i
		}
		at = &der[0]
	} else {
		at = new(byte) // an empty one has no address to tell it by: written each time
	}
	i := len(in)
	in[at] = i
	s.Inters = append(s.Inters, der)
	return i
}

// snapshotOf returns what the index serves for one site, numbering its
// intermediates in inters.
func (ix *Index) snapshotOf(e *siteEntry, inters interNumbers) snapshotSite {
	s := snapshotSite{ID: e.conf.id, Name: e.conf.name, Status: e.conf.status, Policy: *e.conf.policy, Settings: e.conf.settings}
	if e.conf.clients != nil {
		s.ClientCAs = e.conf.clients.cas
	}
	if so := e.conf.origin; so != nil {
		for _, c := range so.cas {
			s.OriginCAs = append(s.OriginCAs, snapshotOriginCA{ID: c.ID, CertPEM: c.CertPEM})
		}
		for _, c := range so.clients {
			s.OriginClients = append(s.OriginClients, snapshotOriginClient{ID: c.ID, Scope: string(c.Scope),
				ChainPEM: c.ChainPEM, Sealed: c.SealedKey, Hostnames: c.Hostnames, Created: c.Created})
		}
	}
	s.DefaultNoSuites = s.Policy.Default.CipherSuites != nil && len(s.Policy.Default.CipherSuites) == 0
	for h, hp := range s.Policy.Hosts {
		if hp.CipherSuites != nil && len(hp.CipherSuites) == 0 {
			s.HostsNoSuites = append(s.HostsNoSuites, h)
		}
	}
	s.Certs = make([]snapshotCert, 0, e.certs.Len())
	e.certs.each(func(_ string, sv *served) bool {
		sc := snapshotCert{ID: sv.id, Leaf: sv.chain[0], Sealed: sv.sealed, NotAfter: sv.notAfter, RSA: sv.rsa, Names: sv.names}
		for _, der := range sv.chain[1:] {
			sc.Inters = append(sc.Inters, inters.number(&s, der))
		}
		s.Certs = append(s.Certs, sc)
		return true
	})
	for _, n := range e.routes {
		if r, ok := ix.routes.Get(n); ok && r.site == e.conf {
			s.Routes = append(s.Routes, Route{Name: n, Origin: r.origin, OriginHost: r.originHost})
		}
	}
	for _, n := range e.wildRoutes {
		if r, ok := ix.wildRoutes.Get(n); ok && r.site == e.conf {
			s.Routes = append(s.Routes, Route{Name: "*." + n, Origin: r.origin, OriginHost: r.originHost})
		}
	}
	return s
}

// state turns a snapshot's site back into the state it was built from, as
// far as the edge uses it; inters are the intermediates read so far, by
// number. A certificate naming an intermediate not read yet makes the
// snapshot corrupt.
//
// With an arena, each certificate's leaf and sealed key are copied into it
// (the state then holds the chunks, SiteState.mems), so that s's own bytes
// can be decoded into again; without one the state holds s's bytes.
func (s *snapshotSite) state(inters [][]byte, arena *byteArena) (SiteState, error) {
	if s.DefaultNoSuites {
		s.Policy.Default.CipherSuites = []uint16{}
	}
	for _, h := range s.HostsNoSuites {
		hp := s.Policy.Hosts[h]
		hp.CipherSuites = []uint16{}
		s.Policy.Hosts[h] = hp
	}
	st := SiteState{ID: s.ID, Site: &site.Site{ID: s.ID, Name: s.Name, Status: s.Status}, Routes: s.Routes, Policy: s.Policy,
		Settings: s.Settings, ClientCAs: s.ClientCAs}
	for _, c := range s.OriginCAs {
		st.OriginCAs = append(st.OriginCAs, origincert.CA{ID: c.ID, SiteID: s.ID, CertPEM: c.CertPEM})
	}
	for _, c := range s.OriginClients {
		st.OriginClients = append(st.OriginClients, origincert.Client{ID: c.ID, Scope: origincert.Scope(c.Scope), SiteID: s.ID,
			ChainPEM: c.ChainPEM, SealedKey: c.Sealed, Hostnames: c.Hostnames, Created: c.Created})
	}
	for _, c := range s.Certs {
		alg := "ECDSA"
		if c.RSA {
			alg = "RSA"
		}
		leaf, sealed := c.Leaf, c.Sealed
		var chunk *arenaChunk
		if arena != nil {
			leaf, sealed, chunk = arena.put(leaf, sealed)
		}
		crt := cert.Certificate{ID: c.ID, SiteID: s.ID, SealedKey: sealed}
		crt.Info.NotAfter, crt.Info.PubAlg, crt.Info.SANs = c.NotAfter, alg, c.Names
		chain := make([][]byte, 1, 1+len(c.Inters))
		chain[0] = leaf
		for _, i := range c.Inters {
			if i < 0 || i >= len(inters) {
				return st, fmt.Errorf("%w: certificate %s names intermediate %d of %d", errSnapshotCorrupt, c.ID, i, len(inters))
			}
			chain = append(chain, inters[i])
		}
		st.Certificates = append(st.Certificates, crt)
		st.chains = append(st.chains, chain)
		if arena != nil {
			st.mems = append(st.mems, chunk)
		}
	}
	return st, nil
}

// writeSnapshot writes what ix serves to w.
func writeSnapshot(w io.Writer, ix *Index, now time.Time) error {
	sw, err := newSnapshotWriter(w, ix.rev, now)
	if err != nil {
		return err
	}
	inters := interNumbers{}
	ix.sites.each(func(_ string, e siteEntry) bool {
		err = sw.site(ix.snapshotOf(&e, inters))
		return err == nil
	})
	if err != nil {
		return err
	}
	return sw.close()
}

// snapshotWriter writes a snapshot one site at a time.
type snapshotWriter struct {
	bw  *bufio.Writer
	sum hash.Hash
	enc *gob.Encoder
}

// newSnapshotWriter starts a snapshot of revision rev on w.
func newSnapshotWriter(w io.Writer, rev int64, now time.Time) (*snapshotWriter, error) {
	sw := &snapshotWriter{bw: bufio.NewWriterSize(w, 1<<16), sum: sha256.New()}
	out := io.MultiWriter(sw.bw, sw.sum)
	if _, err := io.WriteString(out, snapshotMagic); err != nil {
		return nil, err
	}
	sw.enc = gob.NewEncoder(out)
	if err := sw.enc.Encode(snapshotHeader{Rev: rev, Written: now}); err != nil {
		return nil, err
	}
	return sw, nil
}

// site writes one site.
func (sw *snapshotWriter) site(s snapshotSite) error { return sw.enc.Encode(s) }

// close ends the sites, writes the checksum and flushes.
func (sw *snapshotWriter) close() error {
	if err := sw.enc.Encode(snapshotSite{}); err != nil {
		return err
	}
	if _, err := sw.bw.Write(sw.sum.Sum(nil)); err != nil {
		return err
	}
	return sw.bw.Flush()
}

// saveSnapshot replaces the file at path with what ix serves: written
// beside it, synced, then renamed over it.
func saveSnapshot(path string, ix *Index, now time.Time) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	err = writeSnapshot(f, ix, now)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if dir, err := os.Open(filepath.Dir(path)); err == nil { // make the rename durable
		dir.Sync()
		dir.Close()
	}
	return nil
}

// readSnapshot reads the snapshot at path: the sites' states, the revision
// they reflect and when it was written. A file that is not whole, or not a
// snapshot, is refused with errSnapshotCorrupt.
func readSnapshot(path string) ([]SiteState, snapshotHeader, error) {
	var states []SiteState
	hdr, err := eachSnapshotSite(path, nil, func(st SiteState) { states = append(states, st) })
	if err != nil {
		return nil, hdr, err
	}
	return states, hdr, nil
}

// loadSnapshot builds an index from the snapshot at path, as readSnapshot
// and load would, but site by site as the file is read: the sites' states
// are never all held at once, and reading the file (one goroutine) goes on
// while the index is built (another).
func loadSnapshot(seed maphash.Seed, path string, now time.Time, requireVerified bool) (*Index, snapshotHeader, int, error) {
	// The index's heap is about the size of the file: the collector is
	// held off until the heap nears one and a half times that (memtune.Load).
	if fi, err := os.Stat(path); err == nil {
		defer memtune.Load(uint64(fi.Size()))()
	}
	b := newIndexBuilder(seed, now, requireVerified)
	sites := 0
	hdr, err := eachSnapshotSite(path, new(byteArena), func(st SiteState) {
		b.add(st)
		sites++
	})
	if err != nil {
		return nil, hdr, 0, err
	}
	ix := b.done(hdr.Rev)
	ix.snapshot = true
	return ix, hdr, sites, nil
}

// eachSnapshotSite calls f with each site's state of the snapshot at path,
// in the file's order, from the calling goroutine while another reads on.
// The checksum is verified as the file is read: when it does not match, f
// has seen the sites already and the error says to drop them.
//
// With an arena (the index's load), the certificates' leaves and sealed
// keys f sees are in its chunks (SiteState.mems), copied there as they are
// decoded, and the decoder reuses its buffers for the next site: a million
// certificates' bytes are not each allocated on the heap only to be copied
// into the arena. f's states must then not outlive the chunks: only
// newServed, which keeps the chunk with the bytes, may keep them.
func eachSnapshotSite(path string, arena *byteArena, f func(SiteState)) (snapshotHeader, error) {
	var hdr snapshotHeader
	file, err := os.Open(path)
	if err != nil {
		return hdr, err
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return hdr, err
	}
	body := fi.Size() - sha256.Size
	if body < int64(len(snapshotMagic)) {
		return hdr, fmt.Errorf("%w: %d bytes is too short", errSnapshotCorrupt, fi.Size())
	}
	want := make([]byte, sha256.Size)
	if _, err := file.ReadAt(want, body); err != nil {
		return hdr, err
	}
	sum := sha256.New()
	r := bufio.NewReaderSize(io.TeeReader(io.NewSectionReader(file, 0, body), sum), 1<<20)
	magic := make([]byte, len(snapshotMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != snapshotMagic {
		return hdr, fmt.Errorf("%w: not an esacert edge snapshot", errSnapshotCorrupt)
	}
	dec := gob.NewDecoder(r)
	if err := dec.Decode(&hdr); err != nil {
		return hdr, fmt.Errorf("%w: %v", errSnapshotCorrupt, err)
	}
	// One goroutine decodes, in batches; this one builds.
	batches := make(chan []SiteState, 8)
	done := make(chan struct{})
	var readErr error
	go func() {
		defer close(batches)
		var inters [][]byte
		batch := make([]SiteState, 0, 256)
		var s snapshotSite
		for {
			if arena != nil { // decoded into again: gob reuses the certificates and their bytes' room
				certs := s.Certs[:cap(s.Certs)]
				for i := range certs {
					// Only the byte slices' room is kept: gob leaves a
					// field that is zero in the stream as it finds it.
					certs[i] = snapshotCert{Leaf: certs[i].Leaf[:0], Sealed: certs[i].Sealed[:0]}
				}
				s = snapshotSite{Certs: certs[:0]}
			} else {
				s = snapshotSite{}
			}
			if err := dec.Decode(&s); err != nil {
				readErr = fmt.Errorf("%w: %v", errSnapshotCorrupt, err)
				return
			}
			if s.ID == 0 {
				break
			}
			for _, der := range s.Inters {
				inters = append(inters, intermediates.intern(der))
			}
			st, err := s.state(inters, arena)
			if err != nil {
				readErr = err
				return
			}
			batch = append(batch, st)
			if len(batch) == cap(batch) {
				select {
				case batches <- batch:
				case <-done:
					return
				}
				batch = make([]SiteState, 0, 256)
			}
		}
		if len(batch) > 0 {
			select {
			case batches <- batch:
			case <-done:
				return
			}
		}
		if _, err := io.Copy(io.Discard, r); err != nil { // the checksum covers all of the body
			readErr = err
			return
		}
		if !bytes.Equal(sum.Sum(nil), want) {
			readErr = fmt.Errorf("%w: its checksum does not match", errSnapshotCorrupt)
		}
	}()
	defer close(done)
	for batch := range batches {
		for _, st := range batch {
			f(st)
		}
	}
	return hdr, readErr
}
