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
	"time"

	"github.com/esacert/esacert/internal/cert"
)

// The staples' snapshot: the good OCSP responses the edge holds, kept in a
// file beside the index's snapshot (its path and ".ocsp"), so that an edge
// started from its snapshot while the store cannot be read staples what it
// stapled before, and serves its Must-Staple certificates, instead of
// neither. It is a file of its own because staples change without the
// index (a response is refreshed at half its validity): writing one does
// not rewrite the certificates.
//
// The file is the magic line, a gob stream (a snapshotStaple per
// response, one with an empty ID to end), and the SHA-256 of everything
// before it; written beside and renamed over, 0600, as the snapshot is.
// Only responses that are good and valid when written are kept: an edge
// reading the file checks each again, as it checks those from the store.
// Once the store answers, the edge's first read of its staples replaces
// whatever the file gave (see loadStaples).

const stapleSnapshotMagic = "esacert edge staples 1\n"

// snapshotStaple is one certificate's response in the file.
type snapshotStaple struct {
	ID         string // the certificate's; "" ends the file
	Response   []byte
	FP         [sha256.Size]byte
	ThisUpdate int64
	NextUpdate int64
}

// stapleSnapshotPath is where the staples of the snapshot at path go.
func stapleSnapshotPath(path string) string { return path + ".ocsp" }

// stapleSaveEvery is how often the staples' file is written at most while
// the staples change (a response is refreshed at half its validity, so at a
// million certificates some change every second): the responses it holds
// stay valid for days, and a write costs the size of all of them.
const stapleSaveEvery = 5 * time.Minute

// saveStapleSnapshot writes the staples' file when the staples changed
// since it was last written and, unless force, the last write is
// stapleSaveEvery old (or twenty times as long as it took); it reports
// whether it wrote. The caller holds e.snapMu.
func (e *Edge) saveStapleSnapshot(now time.Time, force bool) (bool, error) {
	if e.Snapshot == "" || e.Staples == nil {
		return false, nil
	}
	gen := e.staples.gen.Load()
	if gen == e.staples.savedGen.Load() || !force && now.Before(e.staples.nextSave) {
		return false, nil
	}
	start := time.Now()
	if err := replaceFile(stapleSnapshotPath(e.Snapshot), func(w io.Writer) error { return e.writeStaples(w, now) }); err != nil {
		return false, err
	}
	e.staples.savedGen.Store(gen)
	e.staples.nextSave = now.Add(max(stapleSaveEvery, 20*time.Since(start)))
	return true, nil
}

// writeStaples writes the good staples valid at now to w.
func (e *Edge) writeStaples(w io.Writer, now time.Time) error {
	sum := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(w, sum), 1<<16)
	if _, err := io.WriteString(bw, stapleSnapshotMagic); err != nil {
		return err
	}
	enc := gob.NewEncoder(bw)
	var err error
	e.staples.m.Range(func(k, v any) bool {
		ent := v.(*stapleEntry)
		if !ent.goodAt(now) {
			return true
		}
		err = enc.Encode(snapshotStaple{ID: k.(string), Response: ent.response, FP: ent.fp,
			ThisUpdate: ent.thisUpdate, NextUpdate: ent.nextUpdate})
		return err == nil
	})
	if err != nil {
		return err
	}
	if err := enc.Encode(snapshotStaple{}); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	_, err = w.Write(sum.Sum(nil))
	return err
}

// loadStapleSnapshot reads the staples' file into the edge's map and
// returns how many it read: its checksum first, in one pass over the file,
// then its records one at a time. A file that is not whole is refused
// whole. The caller is Start, before the staples are read from the store.
func (e *Edge) loadStapleSnapshot() (int, error) {
	f, err := os.Open(stapleSnapshotPath(e.Snapshot))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	body := fi.Size() - sha256.Size
	if body < int64(len(stapleSnapshotMagic)) {
		return 0, fmt.Errorf("%w: %d bytes is too short", errSnapshotCorrupt, fi.Size())
	}
	sum := sha256.New()
	if _, err := io.Copy(sum, io.NewSectionReader(f, 0, body)); err != nil {
		return 0, err
	}
	want := make([]byte, sha256.Size)
	if _, err := f.ReadAt(want, body); err != nil {
		return 0, err
	}
	if !bytes.Equal(sum.Sum(nil), want) {
		return 0, fmt.Errorf("%w: its checksum does not match", errSnapshotCorrupt)
	}
	r := bufio.NewReaderSize(io.NewSectionReader(f, 0, body), 1<<16)
	magic := make([]byte, len(stapleSnapshotMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != stapleSnapshotMagic {
		return 0, fmt.Errorf("%w: not an esacert edge staples file", errSnapshotCorrupt)
	}
	dec := gob.NewDecoder(r)
	n := 0
	for {
		var s snapshotStaple
		if err := dec.Decode(&s); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF // the end record is missing
			}
			e.staples.m.Clear() // what it held came from this file
			return 0, fmt.Errorf("%w: %v", errSnapshotCorrupt, err)
		}
		if s.ID == "" {
			return n, nil
		}
		e.staples.m.Store(s.ID, &stapleEntry{response: s.Response, fp: s.FP, thisUpdate: s.ThisUpdate,
			nextUpdate: s.NextUpdate, status: cert.OCSPGood})
		n++
	}
}
