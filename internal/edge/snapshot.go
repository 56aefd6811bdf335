package edge

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/esacert/esacert/internal/cert"
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
// everything before it. Private keys (of certificates and of origin client
// certificates) stay sealed under the master key; the
// file is still written 0600. It is replaced by rename, so a reader sees the
// old file or the new one, never a part.
const snapshotMagic = "esacert edge snapshot 9\n"

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
	Certs           []snapshotCert
	Routes          []Route
	Settings        sitesetting.Settings
	OriginCAs       []snapshotOriginCA
	OriginClients   []snapshotOriginClient // keys sealed, as in the store
	ClientCAs       []ClientCA             // mutual TLS from visitors
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
	Chain    [][]byte // DER, leaf first
	Sealed   []byte
	NotAfter time.Time
	RSA      bool
	Names    []string // the names the index serves it for; "*.parent" for wildcards
}

// errSnapshotCorrupt reports a snapshot that is not one esacert wrote whole.
var errSnapshotCorrupt = errors.New("the snapshot is damaged")

// snapshotOf returns what the index serves for one site.
func (ix *Index) snapshotOf(e *siteEntry) snapshotSite {
	s := snapshotSite{ID: e.conf.id, Name: e.conf.name, Status: e.conf.status, Policy: e.conf.policy, Settings: e.conf.settings}
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
		s.Certs = append(s.Certs, snapshotCert{ID: sv.id, Chain: sv.chain, Sealed: sv.sealed, NotAfter: sv.notAfter,
			RSA: sv.rsa, Names: sv.names})
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
// far as the edge uses it.
func (s *snapshotSite) state() SiteState {
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
		crt := cert.Certificate{ID: c.ID, SiteID: s.ID, SealedKey: c.Sealed}
		crt.Info.NotAfter, crt.Info.PubAlg, crt.Info.SANs = c.NotAfter, alg, c.Names
		st.Certificates = append(st.Certificates, crt)
		st.chains = append(st.chains, c.Chain)
	}
	return st
}

// writeSnapshot writes what ix serves to w.
func writeSnapshot(w io.Writer, ix *Index, now time.Time) error {
	sum := sha256.New()
	bw := bufio.NewWriterSize(w, 1<<16)
	out := io.MultiWriter(bw, sum)
	if _, err := io.WriteString(out, snapshotMagic); err != nil {
		return err
	}
	enc := gob.NewEncoder(out)
	if err := enc.Encode(snapshotHeader{Rev: ix.rev, Written: now}); err != nil {
		return err
	}
	var err error
	ix.sites.each(func(_ string, e *siteEntry) bool {
		err = enc.Encode(ix.snapshotOf(e))
		return err == nil
	})
	if err != nil {
		return err
	}
	if err := enc.Encode(snapshotSite{}); err != nil {
		return err
	}
	if _, err := bw.Write(sum.Sum(nil)); err != nil {
		return err
	}
	return bw.Flush()
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
	var hdr snapshotHeader
	f, err := os.Open(path)
	if err != nil {
		return nil, hdr, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, hdr, err
	}
	body := fi.Size() - sha256.Size
	if body < int64(len(snapshotMagic)) {
		return nil, hdr, fmt.Errorf("%w: %d bytes is too short", errSnapshotCorrupt, fi.Size())
	}
	sum := sha256.New()
	if _, err := io.Copy(sum, io.NewSectionReader(f, 0, body)); err != nil {
		return nil, hdr, err
	}
	want := make([]byte, sha256.Size)
	if _, err := f.ReadAt(want, body); err != nil {
		return nil, hdr, err
	}
	if !bytes.Equal(sum.Sum(nil), want) {
		return nil, hdr, fmt.Errorf("%w: its checksum does not match", errSnapshotCorrupt)
	}
	r := bufio.NewReaderSize(io.NewSectionReader(f, 0, body), 1<<16)
	magic := make([]byte, len(snapshotMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != snapshotMagic {
		return nil, hdr, fmt.Errorf("%w: not an esacert edge snapshot", errSnapshotCorrupt)
	}
	dec := gob.NewDecoder(r)
	if err := dec.Decode(&hdr); err != nil {
		return nil, hdr, fmt.Errorf("%w: %v", errSnapshotCorrupt, err)
	}
	var states []SiteState
	for {
		var s snapshotSite
		if err := dec.Decode(&s); err != nil {
			return nil, hdr, fmt.Errorf("%w: %v", errSnapshotCorrupt, err)
		}
		if s.ID == 0 {
			return states, hdr, nil
		}
		states = append(states, s.state())
	}
}
