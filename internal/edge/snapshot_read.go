package edge

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/origincert"
	"github.com/esacert/esacert/internal/site"
)

// state turns a snapshot's site record back into the state it was built
// from, as far as the edge uses it; inters are the intermediates read so
// far, by number. A certificate naming an intermediate not read yet makes
// the snapshot corrupt.
//
// With an arena, each certificate's leaf and sealed key are copied into it
// (the state then holds the chunks, SiteState.placed), so that s's own bytes
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
	return st, certStates(&st, s.Certs, inters, arena)
}

// state turns a chunk into a part of its site's state (SiteState.part), as
// snapshotSite.state does its certificates.
func (c *snapshotChunk) state(inters [][]byte, arena *byteArena) (SiteState, error) {
	st := SiteState{ID: c.ID, part: true}
	return st, certStates(&st, c.Certs, inters, arena)
}

// certStates adds certs to st: its Certificates, chains and, with an
// arena, placed.
func certStates(st *SiteState, certs []snapshotCert, inters [][]byte, arena *byteArena) error {
	st.Certificates = make([]cert.Certificate, 0, len(certs))
	st.chains = make([][][]byte, 0, len(certs))
	if arena != nil {
		st.placed = make([]placedBytes, 0, len(certs))
	}
	for _, c := range certs {
		alg := "ECDSA"
		if c.RSA {
			alg = "RSA"
		}
		leaf, sealed := c.Leaf, c.Sealed
		var placed placedBytes
		if arena != nil {
			placed = arena.put(leaf, sealed)
			leaf, sealed = placed.both[:len(leaf):len(leaf)], placed.both[len(leaf):]
		}
		crt := cert.Certificate{ID: c.ID, SiteID: st.ID, SealedKey: sealed}
		crt.Info.NotAfter, crt.Info.PubAlg, crt.Info.SANs = c.NotAfter, alg, c.Names
		chain := make([][]byte, 1, 1+len(c.Inters))
		chain[0] = leaf
		for _, i := range c.Inters {
			if i < 0 || i >= len(inters) {
				return fmt.Errorf("%w: certificate %s names intermediate %d of %d", errSnapshotCorrupt, c.ID, i, len(inters))
			}
			chain = append(chain, inters[i])
		}
		st.Certificates = append(st.Certificates, crt)
		st.chains = append(st.chains, chain)
		if arena != nil {
			st.placed = append(st.placed, placed)
		}
	}
	return nil
}

// reusedCerts returns certs emptied for gob to decode into again, keeping
// only their byte slices' room (gob leaves a field that is zero in the
// stream as it finds it, so nothing else may be kept).
func reusedCerts(certs []snapshotCert) []snapshotCert {
	certs = certs[:cap(certs)]
	for i := range certs {
		certs[i] = snapshotCert{Leaf: certs[i].Leaf[:0], Sealed: certs[i].Sealed[:0]}
	}
	return certs[:0]
}

// eachSnapshotSite calls f with each site's state of the snapshot at path,
// in the file's order, from the calling goroutine while another reads on.
// A large site comes in parts: its state with its first certificates, then
// states marked part with more of them (SiteState.part), each right after
// the one before; no part holds more than snapshotChunkCerts certificates
// (but those of a format-10 file). The checksum is verified as the file is
// read: when it does not match, f has seen the sites already and the error
// says to drop them.
//
// With an arena (the index's load), the certificates' leaves and sealed
// keys f sees are in its chunks (SiteState.placed), copied there as they are
// decoded, and the decoder reuses its buffers for the next record: a
// million certificates' bytes are not each allocated on the heap only to be
// copied into the arena. f's states must then not outlive the chunks: only
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
	if _, err := io.ReadFull(r, magic); err != nil || !slices.Contains([]string{snapshotMagic, snapshotMagic11, snapshotMagic10}, string(magic)) {
		return hdr, fmt.Errorf("%w: not an esacert edge snapshot", errSnapshotCorrupt)
	}
	dec := gob.NewDecoder(r)
	if err := dec.Decode(&hdr); err != nil {
		return hdr, fmt.Errorf("%w: %v", errSnapshotCorrupt, err)
	}
	// One goroutine decodes, in batches of at most 256 states or about
	// snapshotChunkCerts certificates; this one builds.
	batches := make(chan []SiteState, 8)
	done := make(chan struct{})
	var readErr error
	go func() {
		defer close(batches)
		var inters [][]byte
		batch, certs := make([]SiteState, 0, 256), 0
		send := func(st SiteState) bool {
			batch = append(batch, st)
			certs += len(st.Certificates)
			if len(batch) < cap(batch) && certs < snapshotChunkCerts {
				return true
			}
			select {
			case batches <- batch:
			case <-done:
				return false
			}
			batch, certs = make([]SiteState, 0, 256), 0
			return true
		}
		var s snapshotSite
		var c snapshotChunk
		for {
			if arena != nil { // decoded into again: gob reuses the certificates and their bytes' room
				s = snapshotSite{Certs: reusedCerts(s.Certs)}
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
			if !send(st) {
				return
			}
			for more := s.More; more; more = c.More {
				if arena != nil {
					c = snapshotChunk{Certs: reusedCerts(c.Certs)}
				} else {
					c = snapshotChunk{}
				}
				if err := dec.Decode(&c); err != nil {
					readErr = fmt.Errorf("%w: %v", errSnapshotCorrupt, err)
					return
				}
				if c.ID != s.ID {
					readErr = fmt.Errorf("%w: certificates of site %d where more of site %d's were due", errSnapshotCorrupt, c.ID, s.ID)
					return
				}
				for _, der := range c.Inters {
					inters = append(inters, intermediates.intern(der))
				}
				st, err := c.state(inters, arena)
				if err != nil {
					readErr = err
					return
				}
				if !send(st) {
					return
				}
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
