package edge

import (
	"bytes"
	"hash/maphash"
	"testing"
)

// writeSnapshotFresh writes ix as indexSite did before it kept its buffers
// from site to site: every record built in slices of its own.
func writeSnapshotFresh(t *testing.T, ix *Index) []byte {
	t.Helper()
	var out bytes.Buffer
	sw, err := newSnapshotWriter(&out, ix.rev, now)
	if err != nil {
		t.Fatal(err)
	}
	inters := interNumbers{}
	ix.sites.each(func(e siteEntry) bool {
		s := ix.snapshotHead(&e)
		first := true
		var certs []snapshotCert
		var written [][]byte
		flush := func(more bool) {
			if first {
				s.Inters, s.Certs, s.More = written, certs, more
				err = sw.site(s)
				first = false
			} else {
				err = sw.chunk(snapshotChunk{ID: s.ID, Inters: written, Certs: certs, More: more})
			}
			certs, written = nil, nil
		}
		e.certs.each(func(_ string, sv *served) bool {
			if len(certs) == snapshotChunkCerts {
				if flush(true); err != nil {
					return false
				}
			}
			sc := snapshotCertOf(sv)
			for _, der := range sv.tail {
				sc.Inters = append(sc.Inters, inters.number(&written, der))
			}
			certs = append(certs, sc)
			return true
		})
		if err == nil {
			flush(false)
		}
		return err == nil
	})
	if err == nil {
		err = sw.close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestSnapshotWriteReusesBuffersExactly: writeSnapshot, which keeps its
// records' buffers from site to site and chunk to chunk, writes the very
// bytes a writer that builds every record afresh writes, for sites of
// several chunks and of one certificate, before and after each other.
// (Per-host policies are left out: gob writes a map in an order of its
// own each time.)
func TestSnapshotWriteReusesBuffersExactly(t *testing.T) {
	_, src, _, _ := chunkedFixture(t)
	states := mustLoad(t, src)
	for i := range states {
		states[i].Policy.Hosts = nil // a map: gob writes it in an order of its own each time
	}
	ix := load(maphash.MakeSeed(), states, 7, now, false)
	var got bytes.Buffer
	if err := writeSnapshot(&got, ix, now); err != nil {
		t.Fatal(err)
	}
	if want := writeSnapshotFresh(t, ix); !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("writeSnapshot wrote %d bytes, unlike the %d of a writer without reuse", got.Len(), len(want))
	}
}
