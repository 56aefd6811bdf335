package edge

import (
	"errors"
	"hash/maphash"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/esacert/esacert/internal/memtune"
	"github.com/esacert/esacert/internal/sitesetting"
)

// The snapshot is what an edge serves, kept in a local file so that an edge
// started while its store cannot be read serves what it served before
// instead of nothing. It is written from the index itself, one site at a
// time, so keeping it costs no second copy of the certificates in memory.
//
// The file is the magic line, a gob stream (a snapshotHeader, one
// snapshotSite per site, a snapshotSite with ID 0 to end), and the SHA-256 of
// everything before it. A site's record holds at most snapshotChunkCerts
// certificates; when it has more (More), snapshotChunk records of at most
// as many each follow it, the last one without More. Writing or reading a
// site of a million certificates thus holds one chunk's records at a time,
// never the whole site's. An intermediate certificate shared by many
// certificates is written once, in the record where it is first used, and
// numbered: the certificates after it name it by its number. Private keys
// (of certificates and of origin client certificates) stay sealed under the
// master key; the file is still written 0600. It is replaced by rename, so a
// reader sees the old file or the new one, never a part.
//
// Format 11 was the same without HostPolicy.VersionsOff and Route.Auth,
// and format 10 also without chunks (More and snapshotChunk were added in
// 11): both are read as they are, a large site of format 10 whole. Read
// from them, until the store is read (an index from a snapshot is replaced
// by a load from the store as soon as the store answers, Edge.refresh), a
// host whose TLS versions have a gap is served its whole range, and the
// requests to a private bucket origin go unsigned.
const (
	snapshotMagic   = "esacert edge snapshot 12\n"
	snapshotMagic11 = "esacert edge snapshot 11\n"
	snapshotMagic10 = "esacert edge snapshot 10\n"
)

// snapshotChunkCerts is the most certificates a record holds. A record of
// 1,024 certificates is about 1.5 MB (ECDSA) to 3 MB (RSA) in the file,
// and as much again while it is decoded and built: the memory a site costs
// beyond what the index keeps is bounded by that, as the file's reader
// buffer (1 MiB) and an arena chunk (4 MiB) are, while the record's own
// cost (a length, a type id, the site id) stays under a thousandth of it.
const snapshotChunkCerts = 1024

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
	// Inters are the intermediates first used by Certs, numbered on from
	// the last one of the records before.
	Inters        [][]byte
	Certs         []snapshotCert // at most snapshotChunkCerts
	Routes        []Route
	Settings      sitesetting.Settings
	OriginCAs     []snapshotOriginCA
	OriginClients []snapshotOriginClient // keys sealed, as in the store
	ClientCAs     []ClientCA             // mutual TLS from visitors
	More          bool                   // snapshotChunk records of more of its certificates follow
}

// snapshotChunk is more certificates of the site before it.
type snapshotChunk struct {
	ID     int64 // the site's: a record read out of place is refused
	Inters [][]byte
	Certs  []snapshotCert // at most snapshotChunkCerts
	More   bool           // another chunk follows
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

// number returns der's number, adding der to *written when it is new.
func (in interNumbers) number(written *[][]byte, der []byte) int {
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
	*written = append(*written, der)
	return i
}

// saveSnapshot replaces the file at path with what ix serves.
func saveSnapshot(path string, ix *Index, now time.Time) error {
	return replaceFile(path, func(w io.Writer) error { return writeSnapshot(w, ix, now) })
}

// replaceFile replaces the file at path with what write writes: written
// beside it (0600), synced, then renamed over it, so that a reader sees the
// old file or the new one, never a part.
func replaceFile(path string, write func(io.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	err = write(f)
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

// readSnapshot reads the snapshot at path: the sites' states (each whole,
// its parts joined), the revision they reflect and when it was written. A
// file that is not whole, or not a snapshot, is refused with
// errSnapshotCorrupt.
func readSnapshot(path string) ([]SiteState, snapshotHeader, error) {
	var states []SiteState
	hdr, err := eachSnapshotSite(path, nil, func(st SiteState) {
		if st.part { // eachSnapshotSite gives a part right after its site
			last := &states[len(states)-1]
			last.Certificates = append(last.Certificates, st.Certificates...)
			last.chains = append(last.chains, st.chains...)
			return
		}
		states = append(states, st)
	})
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
		if !st.part {
			sites++
		}
	})
	if err != nil {
		return nil, hdr, 0, err
	}
	ix := b.done(hdr.Rev)
	ix.snapshot = true
	return ix, hdr, sites, nil
}
