package edge

import (
	"bufio"
	"crypto/sha256"
	"encoding/gob"
	"hash"
	"io"
	"time"
)

// writeSnapshot writes what ix serves to w.
func writeSnapshot(w io.Writer, ix *Index, now time.Time) error {
	sw, err := newSnapshotWriter(w, ix.rev, now)
	if err != nil {
		return err
	}
	inters := interNumbers{}
	ix.sites.each(func(e siteEntry) bool {
		err = sw.indexSite(ix, &e, inters)
		return err == nil
	})
	if err != nil {
		return err
	}
	return sw.close()
}

// snapshotHead returns what the index serves for one site but its
// certificates.
func (ix *Index) snapshotHead(e *siteEntry) snapshotSite {
	s := snapshotSite{ID: e.conf.id, Name: e.conf.name, Status: e.conf.statusName(), Policy: *e.conf.policy(), Settings: e.conf.settingsOf()}
	if a := e.conf.clients(); a != nil {
		s.ClientCAs = a.cas
	}
	if so := e.conf.origin(); so != nil {
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
	exactRoutes, wildRoutes := e.routes()
	for _, n := range exactRoutes {
		if r, ok := ix.routes.Get(n); ok && r.site == e.conf {
			s.Routes = append(s.Routes, r.asRoute(n))
		}
	}
	for _, n := range wildRoutes {
		if r, ok := ix.wildRoutes.Get(n); ok && r.site == e.conf {
			s.Routes = append(s.Routes, r.asRoute("*."+n))
		}
	}
	return s
}

// indexSite writes what the index serves for one site, numbering its
// intermediates in inters: its record with its first snapshotChunkCerts
// certificates, then a chunk for each snapshotChunkCerts more. A chunk is
// written once the next certificate is known to exist, so that the last
// one says it is last without the certificates being counted first.
func (sw *snapshotWriter) indexSite(ix *Index, e *siteEntry, inters interNumbers) error {
	sw.head = ix.snapshotHead(e)
	first := true
	// One chunk's certificates, the intermediates they name first and
	// their Inters (one after the other), in buffers the writer keeps from
	// site to site: a record is encoded before the next is filled.
	certs, written, numbers, names := sw.certs[:0], sw.written[:0], sw.numbers[:0], sw.names[:0]
	flush := func(more bool) error {
		var err error
		if first {
			sw.head.Inters, sw.head.Certs, sw.head.More = written, certs, more
			err = sw.enc.Encode(&sw.head)
			sw.head = snapshotSite{ID: sw.head.ID}
			first = false
		} else {
			sw.part = snapshotChunk{ID: sw.head.ID, Inters: written, Certs: certs, More: more}
			err = sw.enc.Encode(&sw.part)
			sw.part = snapshotChunk{}
		}
		clear(certs) // drops the references to the index's bytes
		clear(written)
		clear(names)
		certs, written, numbers, names = certs[:0], written[:0], numbers[:0], names[:0]
		return err
	}
	var err error
	e.certs.each(func(_ string, sv *served) bool {
		if len(certs) == snapshotChunkCerts {
			if err = flush(true); err != nil {
				return false
			}
		}
		sc := snapshotCert{ID: sv.id(), Leaf: sv.leaf(), Sealed: sv.sealed(), NotAfter: sv.notAfter(), RSA: sv.rsa}
		at := len(names)
		for n := range sv.names() {
			names = append(names, n)
		}
		if len(names) > at {
			sc.Names = names[at:len(names):len(names)]
		}
		at = len(numbers)
		for _, der := range sv.tail {
			numbers = append(numbers, inters.number(&written, der))
		}
		if len(numbers) > at {
			sc.Inters = numbers[at:len(numbers):len(numbers)]
		}
		certs = append(certs, sc)
		return true
	})
	if err == nil {
		err = flush(false)
	}
	sw.certs, sw.written, sw.numbers, sw.names = certs[:0], written[:0], numbers[:0], names[:0]
	return err
}

// snapshotWriter writes a snapshot one record at a time.
type snapshotWriter struct {
	bw  *bufio.Writer
	sum hash.Hash
	enc *gob.Encoder
	// What indexSite encodes, kept from one site to the next, so that
	// writing a snapshot of a million sites allocates little for each:
	// the allocations of a write start collections of the whole index.
	head    snapshotSite
	part    snapshotChunk
	certs   []snapshotCert
	written [][]byte
	numbers []int
	names   []string
}

// newSnapshotWriter starts a snapshot of revision rev on w.
func newSnapshotWriter(w io.Writer, rev int64, now time.Time) (*snapshotWriter, error) {
	return newSnapshotWriterMagic(w, snapshotMagic, rev, now)
}

// newSnapshotWriterMagic starts a snapshot with the given magic line (an
// older format's, for tests).
func newSnapshotWriterMagic(w io.Writer, magic string, rev int64, now time.Time) (*snapshotWriter, error) {
	sw := &snapshotWriter{bw: bufio.NewWriterSize(w, 1<<16), sum: sha256.New()}
	out := io.MultiWriter(sw.bw, sw.sum)
	if _, err := io.WriteString(out, magic); err != nil {
		return nil, err
	}
	sw.enc = gob.NewEncoder(out)
	if err := sw.enc.Encode(snapshotHeader{Rev: rev, Written: now}); err != nil {
		return nil, err
	}
	return sw, nil
}

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
