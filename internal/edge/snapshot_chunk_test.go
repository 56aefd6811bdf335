package edge

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/maphash"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/sitesetting"
)

// chunkedFixture is snapshotFixture with its site example.com grown past
// two chunks: after its own certificates (ECDSA, RSA, a wildcard, an RSA
// twin), copies of them under new ids, each with an exact name, a wildcard
// and a name it shares with the copies before it, every tenth one with its
// RSA twin. It returns the store, the hosts to compare and the number of
// example.com's certificates.
func chunkedFixture(t *testing.T) (*fixture, *memSource, []string, int) {
	f, src, hosts := snapshotFixture(t)
	one := src.sites[1]
	ecdsa, rsa := one.Certificates[0], one.Certificates[1]
	extra := 2*snapshotChunkCerts + 7
	for i := range extra {
		c := ecdsa
		c.ID = fmt.Sprintf("%032x", 0x1000+i)
		c.Info.SANs = []string{"c" + strconv.Itoa(i) + ".example.com", "*.w" + strconv.Itoa(i) + ".example.com", "shared" + strconv.Itoa(i/3) + ".example.com"}
		c.Info.NotAfter = now.Add(time.Duration(i%50) * time.Hour)
		var err error
		if c.SealedKey, err = cert.SealKey(f.sealer, c.ID, []byte("key "+c.ID)); err != nil {
			t.Fatal(err)
		}
		one.Certificates = append(one.Certificates, c)
		if i%10 == 0 {
			tw := rsa
			tw.ID = cert.TwinID(c.ID)
			tw.Info.SANs = c.Info.SANs[:1]
			if tw.SealedKey, err = cert.SealKey(f.sealer, tw.ID, []byte("key "+tw.ID)); err != nil {
				t.Fatal(err)
			}
			one.Certificates = append(one.Certificates, tw)
		}
	}
	src.put(one)
	for _, i := range []int{0, 1, snapshotChunkCerts - 1, snapshotChunkCerts, snapshotChunkCerts + 1, 2 * snapshotChunkCerts, extra - 1} {
		hosts = append(hosts, "c"+strconv.Itoa(i)+".example.com", "x.w"+strconv.Itoa(i)+".example.com", "shared"+strconv.Itoa(i/3)+".example.com")
	}
	return f, src, hosts, len(one.Certificates)
}

// TestSnapshotLargeSiteInChunks: a site of more certificates than two
// chunks is written as its record and chunks, read back in parts of at most
// a chunk each, and rebuilds exactly the index a load from the store
// builds, whether loaded part by part (the edge's load) or read whole.
func TestSnapshotLargeSiteInChunks(t *testing.T) {
	_, src, hosts, total := chunkedFixture(t)
	seed := maphash.MakeSeed()
	fromStore := load(seed, mustLoad(t, src), 7, now, false)
	path := filepath.Join(t.TempDir(), "edge-snapshot")
	if err := saveSnapshot(path, fromStore, now); err != nil {
		t.Fatal(err)
	}

	var parts, largest, ofOne int
	if _, err := eachSnapshotSite(path, nil, func(st SiteState) {
		if st.part && st.ID != 1 {
			t.Errorf("a part of site %d", st.ID)
		}
		if st.ID == 1 {
			parts++
			ofOne += len(st.Certificates)
		}
		largest = max(largest, len(st.Certificates))
	}); err != nil {
		t.Fatal(err)
	}
	if want := (total + snapshotChunkCerts - 1) / snapshotChunkCerts; parts != want || largest > snapshotChunkCerts || ofOne != total {
		t.Fatalf("example.com read in %d parts of at most %d certificates, %d in all; want %d parts of at most %d, %d in all",
			parts, largest, ofOne, want, snapshotChunkCerts, total)
	}

	loaded, hdr, sites, err := loadSnapshot(seed, path, now, false)
	if err != nil {
		t.Fatal(err)
	}
	if sites != 3 || hdr.Rev != 7 {
		t.Errorf("loaded %d sites at revision %d, want 3 at 7", sites, hdr.Rev)
	}
	states, _, err := readSnapshot(path)
	if err != nil {
		t.Fatal(err)
	}
	whole := load(seed, states, hdr.Rev, now, false)
	sameIndexes(t, fromStore, map[string]*Index{"loaded part by part": loaded, "read whole": whole}, hosts)
}

// sameIndexes fails when an index of got serves differently from want:
// for each of its names (sameIndex) and of hosts, and its sites'
// certificates.
func sameIndexes(t *testing.T, want *Index, got map[string]*Index, hosts []string) {
	t.Helper()
	for how, ix := range got {
		if ix.Names() != want.Names() || ix.sites.Len() != want.sites.Len() {
			t.Errorf("%s: %d names and %d sites, want %d and %d", how, ix.Names(), ix.sites.Len(), want.Names(), want.sites.Len())
		}
		want.sites.each(func(we siteEntry) bool {
			key := strconv.FormatInt(we.conf.id, 10)
			ge, ok := ix.sites.Get(key)
			if !ok {
				t.Errorf("%s: site %s missing", how, key)
				return true
			}
			if ge.certs.Len() != we.certs.Len() {
				t.Errorf("%s: site %s has %d certificates, want %d", how, key, ge.certs.Len(), we.certs.Len())
			}
			we.certs.each(func(id string, wsv *served) bool {
				gsv, ok := ge.certs.get(id)
				if !ok || gsv.strs != wsv.strs || gsv.fp != wsv.fp || len(gsv.tail) != len(wsv.tail) {
					t.Errorf("%s: certificate %s of site %s differs", how, id, key)
					return false
				}
				return true
			})
			return true
		})
		for _, h := range hosts {
			if g, w := describe(ix, h), describe(want, h); g != w {
				t.Errorf("%s: %s:\n got %s\nwant %s", how, h, g, w)
			}
		}
		t.Run(how, func(t *testing.T) { sameIndex(t, ix, want) })
	}
}

// TestSnapshotTruncatedInChunks: a file cut anywhere within a site's
// chunks, or whole but ending before the chunks its site announced, or with
// a chunk of another site where the site's were due, is refused.
func TestSnapshotTruncatedInChunks(t *testing.T) {
	_, src, _, _ := chunkedFixture(t)
	ix := load(maphash.MakeSeed(), mustLoad(t, src), 3, now, false)
	dir := t.TempDir()
	path := filepath.Join(dir, "edge-snapshot")
	if err := saveSnapshot(path, ix, now); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(path)
	for _, at := range []int{len(good) / 5, len(good) / 3, len(good) / 2, len(good) * 2 / 3, len(good) * 4 / 5} {
		p := filepath.Join(dir, "cut"+strconv.Itoa(at))
		os.WriteFile(p, good[:at], 0o600)
		if _, _, err := readSnapshot(p); !errors.Is(err, errSnapshotCorrupt) {
			t.Errorf("cut at %d of %d: read gave %v, want errSnapshotCorrupt", at, len(good), err)
		}
		if _, _, _, err := loadSnapshot(maphash.MakeSeed(), p, now, false); !errors.Is(err, errSnapshotCorrupt) {
			t.Errorf("cut at %d of %d: load gave %v, want errSnapshotCorrupt", at, len(good), err)
		}
	}

	// Files whose checksum matches, as a writer that lost its way would
	// leave them.
	c := snapshotCert{ID: "00000000000000000000000000000001", Leaf: []byte("leaf"), Sealed: []byte("sealed"), NotAfter: now.Add(time.Hour)}
	for name, write := range map[string]func(sw *snapshotWriter){
		"ends before the chunks": func(sw *snapshotWriter) {
			sw.site(snapshotSite{ID: 1, Name: "example.com", Status: site.SiteActive, Certs: []snapshotCert{c}, More: true})
		},
		"ends after a chunk that says more": func(sw *snapshotWriter) {
			sw.site(snapshotSite{ID: 1, Name: "example.com", Status: site.SiteActive, Certs: []snapshotCert{c}, More: true})
			sw.chunk(snapshotChunk{ID: 1, Certs: []snapshotCert{c}, More: true})
		},
		"another site's chunk": func(sw *snapshotWriter) {
			sw.site(snapshotSite{ID: 1, Name: "example.com", Status: site.SiteActive, Certs: []snapshotCert{c}, More: true})
			sw.chunk(snapshotChunk{ID: 2, Certs: []snapshotCert{c}})
		},
	} {
		p := filepath.Join(dir, name)
		file, _ := os.Create(p)
		sw, _ := newSnapshotWriter(file, 1, now)
		write(sw)
		if err := sw.close(); err != nil {
			t.Fatal(err)
		}
		file.Close()
		if _, _, err := readSnapshot(p); !errors.Is(err, errSnapshotCorrupt) {
			t.Errorf("%s: read gave %v, want errSnapshotCorrupt", name, err)
		}
	}
}

// snapshotSite10 is a site's record as format 10 wrote it: no More, all
// of its certificates in it.
type snapshotSite10 struct {
	ID              int64
	Name            string
	Status          string
	Policy          SitePolicy
	DefaultNoSuites bool
	HostsNoSuites   []string
	Inters          [][]byte
	Certs           []snapshotCert
	Routes          []Route
	Settings        sitesetting.Settings
	OriginCAs       []snapshotOriginCA
	OriginClients   []snapshotOriginClient
	ClientCAs       []ClientCA
}

func format10(s snapshotSite) snapshotSite10 {
	return snapshotSite10{ID: s.ID, Name: s.Name, Status: s.Status, Policy: s.Policy, DefaultNoSuites: s.DefaultNoSuites,
		HostsNoSuites: s.HostsNoSuites, Inters: s.Inters, Certs: s.Certs, Routes: s.Routes, Settings: s.Settings,
		OriginCAs: s.OriginCAs, OriginClients: s.OriginClients, ClientCAs: s.ClientCAs}
}

// writeSnapshot10 writes ix as an edge of format 10 did.
func writeSnapshot10(t *testing.T, path string, ix *Index) {
	file, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	sw, err := newSnapshotWriterMagic(file, snapshotMagic10, ix.rev, now)
	if err != nil {
		t.Fatal(err)
	}
	inters := interNumbers{}
	ix.sites.each(func(e siteEntry) bool {
		s := ix.snapshotHead(&e)
		e.certs.each(func(_ string, sv *served) bool {
			sc := snapshotCertOf(sv)
			for _, der := range sv.tail {
				sc.Inters = append(sc.Inters, inters.number(&s.Inters, der))
			}
			s.Certs = append(s.Certs, sc)
			return true
		})
		err = sw.enc.Encode(format10(s))
		return err == nil
	})
	if err == nil {
		err = sw.enc.Encode(format10(snapshotSite{}))
	}
	if err == nil {
		_, err = sw.bw.Write(sw.sum.Sum(nil))
	}
	if err == nil {
		err = sw.bw.Flush()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestSnapshotFormat10: a file of format 10, which wrote a site's
// certificates all in its record, is still read, and builds the index a
// load from the store builds.
func TestSnapshotFormat10(t *testing.T) {
	_, src, hosts, _ := chunkedFixture(t)
	seed := maphash.MakeSeed()
	fromStore := load(seed, mustLoad(t, src), 5, now, false)
	path := filepath.Join(t.TempDir(), "edge-snapshot")
	writeSnapshot10(t, path, fromStore)
	raw, _ := os.ReadFile(path)
	if string(raw[:len(snapshotMagic10)]) != "esacert edge snapshot 10\n" {
		t.Fatalf("not a format-10 file: %q", raw[:len(snapshotMagic10)])
	}
	loaded, hdr, _, err := loadSnapshot(seed, path, now, false)
	if err != nil {
		t.Fatal(err)
	}
	states, _, err := readSnapshot(path)
	if err != nil {
		t.Fatal(err)
	}
	if hdr.Rev != 5 {
		t.Errorf("revision %d, want 5", hdr.Rev)
	}
	sameIndexes(t, fromStore, map[string]*Index{"loaded": loaded, "read whole": load(seed, states, hdr.Rev, now, false)}, hosts)
}

// TestSnapshotFormat11: a file of format 11 (no versions off in a host's
// policy, no route auth: what format 12 writes when a site has neither,
// under the older magic) is still read, and builds the index a load from
// the store builds.
func TestSnapshotFormat11(t *testing.T) {
	_, src, hosts, _ := chunkedFixture(t)
	seed := maphash.MakeSeed()
	fromStore := load(seed, mustLoad(t, src), 5, now, false)
	var buf bytes.Buffer
	if err := writeSnapshot(&buf, fromStore, now); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	body := raw[:len(raw)-sha256.Size]
	if !bytes.HasPrefix(body, []byte(snapshotMagic)) {
		t.Fatalf("the file does not start with %q", snapshotMagic)
	}
	copy(body, snapshotMagic11) // the same length: only the version differs
	sum := sha256.Sum256(body)
	copy(raw[len(body):], sum[:])
	path := filepath.Join(t.TempDir(), "edge-snapshot")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	loaded, hdr, _, err := loadSnapshot(seed, path, now, false)
	if err != nil {
		t.Fatal(err)
	}
	if hdr.Rev != 5 {
		t.Errorf("revision %d, want 5", hdr.Rev)
	}
	sameIndexes(t, fromStore, map[string]*Index{"format 11": loaded}, hosts)
}
