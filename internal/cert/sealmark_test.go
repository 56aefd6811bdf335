package cert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/keyseal"
	"github.com/esacert/esacert/internal/pkitest"
)

// verdictKept reports whether the key text pemKey has a verdict in
// keyVerdicts (scalarHoldsPublic computed it and it passed).
func verdictKept(t *testing.T, pemKey string) bool {
	t.Helper()
	ek, ok := readECKey([]byte(pemKey))
	if !ok {
		t.Fatal("not an EC key that stores its public key")
	}
	v := keyVerdict(ek.der)
	keyVerdicts.mu.Lock()
	defer keyVerdicts.mu.Unlock()
	_, kept := keyVerdicts.set[v]
	return kept
}

func testSealer(t *testing.T) *keyseal.Sealer {
	t.Helper()
	mk, err := keyseal.Generate()
	if err != nil {
		t.Fatal(err)
	}
	s, err := keyseal.New(mk)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// marked reports whether sealed, the key of the certificate with id, was
// sealed with checkedMark, failing t when it does not open.
func marked(t *testing.T, sealer *keyseal.Sealer, id string, sealed []byte) bool {
	t.Helper()
	text, err := sealer.Open(sealed, []byte("certificate:"+id))
	if err != nil {
		t.Fatalf("%s: does not open: %v", id, err)
	}
	return strings.HasSuffix(string(text), checkedMark)
}

// TestSealKeyMark: SealKey marks an EC key whose stored public key is its
// scalar's (a line after its PEM block, checkedMark), and the edge's
// OpenKeyFor then builds it without checking that again, while a node of a
// version before the mark (ParseStoredKeyFor on the whole text) still
// reads it; a key that lies is sealed without the mark and refused; a key
// sealed before the mark existed opens and is checked once, as before; an
// RSA key is not marked (nothing was checked) and opens.
func TestSealKeyMark(t *testing.T) {
	sealer := testSealer(t)
	ca := pkitest.NewCA(t, "Seal Mark Root", time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	leaf := func(kt pkitest.KeyType, kf pkitest.KeyFormat) *pkitest.Leaf {
		return ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.example.com"}, KeyType: kt, KeyFormat: kf})
	}
	open := func(id string, sealed []byte, l *pkitest.Leaf) error {
		_, err := OpenKeyFor(sealer, Certificate{ID: id, SealedKey: sealed}, l.Cert.Raw)
		return err
	}

	for _, kf := range []pkitest.KeyFormat{"pkcs8", "sec1"} {
		t.Run("marked/"+string(kf), func(t *testing.T) {
			l := leaf("ecdsa-p256", kf)
			sealed, err := SealKey(sealer, "c1", []byte(l.KeyPEM))
			if err != nil {
				t.Fatal(err)
			}
			if !marked(t, sealer, "c1", sealed) {
				t.Fatal("not sealed with the mark")
			}
			if err := open("c1", sealed, l); err != nil {
				t.Fatal(err)
			}
			if verdictKept(t, l.KeyPEM) {
				t.Error("a marked key was checked again when opened")
			}
			if err := open("c2", sealed, l); err == nil {
				t.Error("a key sealed for c1 opened as c2's")
			}
			whole, _ := sealer.Open(sealed, []byte("certificate:c1"))
			key, err := ParseStoredKeyFor(whole, l.Cert.Raw) // as a node before the mark reads it
			if err != nil {
				t.Fatalf("the marked text, read as before the mark: %v", err)
			}
			if _, err := key.Sign(rand.Reader, make([]byte, 32), crypto.SHA256); err != nil {
				t.Fatal(err)
			}
		})
	}

	t.Run("lying", func(t *testing.T) {
		l := leaf("ecdsa-p256", "sec1")
		_, otherPEM := pkitest.Key(t, "ecdsa-p256", "sec1")
		leafPub, err := l.Key.Public().(*ecdsa.PublicKey).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		lying := pkitest.WithECPublicKey(t, otherPEM, leafPub) // another scalar beside the leaf's public key
		sealed, err := SealKey(sealer, "c3", []byte(lying))
		if err != nil {
			t.Fatal(err)
		}
		if marked(t, sealer, "c3", sealed) {
			t.Fatal("a key whose stored public key is not its scalar's was sealed with the mark")
		}
		if err := open("c3", sealed, l); !errors.Is(err, certcheck.ErrKeyMismatch) {
			t.Fatalf("the lying key: %v, want ErrKeyMismatch", err)
		}
	})

	t.Run("sealed_before_the_mark", func(t *testing.T) {
		l := leaf("ecdsa-p256", "pkcs8")
		sealed, err := sealer.Seal([]byte(l.KeyPEM), []byte("certificate:c4"))
		if err != nil {
			t.Fatal(err)
		}
		if err := open("c4", sealed, l); err != nil {
			t.Fatal(err)
		}
		if !verdictKept(t, l.KeyPEM) {
			t.Error("a key sealed without the mark was not checked")
		}
		if _, err := OpenKey(sealer, Certificate{ID: "c4", SealedKey: sealed}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("rsa", func(t *testing.T) {
		l := leaf("rsa-2048", "")
		sealed, err := SealKey(sealer, TwinID("c5"), []byte(l.KeyPEM))
		if err != nil {
			t.Fatal(err)
		}
		if marked(t, sealer, TwinID("c5"), sealed) {
			t.Fatal("an RSA key, nothing of which was checked, was sealed with the mark")
		}
		if err := open(TwinID("c5"), sealed, l); err != nil {
			t.Fatal(err)
		}
	})
}

// TestResealCertKeyMark: a rotation of the master key keeps the mark of a
// marked key, gives it to an unmarked key whose stored public key holds,
// and not to one that lies.
func TestResealCertKeyMark(t *testing.T) {
	from, to := testSealer(t), testSealer(t)
	ca := pkitest.NewCA(t, "Reseal Mark Root", time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	l := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.example.com"}, KeyType: "ecdsa-p256", KeyFormat: "sec1"})
	_, otherPEM := pkitest.Key(t, "ecdsa-p256", "sec1")
	leafPub, _ := l.Key.Public().(*ecdsa.PublicKey).Bytes()
	lying := pkitest.WithECPublicKey(t, otherPEM, leafPub)

	markedKey, _ := SealKey(from, "m", []byte(l.KeyPEM))
	unmarked, _ := from.Seal([]byte(l.KeyPEM), certAAD("u"))
	lyingSealed, _ := from.Seal([]byte(lying), certAAD("x"))
	for _, tt := range []struct {
		id       string
		sealed   []byte
		wantMark bool
	}{{"m", markedKey, true}, {"u", unmarked, true}, {"x", lyingSealed, false}} {
		again, err := resealCertKey(from, to, tt.id, tt.sealed)
		if err != nil {
			t.Fatalf("%s: %v", tt.id, err)
		}
		if got := marked(t, to, tt.id, again); got != tt.wantMark {
			t.Errorf("%s: marked after the rotation: %v, want %v", tt.id, got, tt.wantMark)
		}
		text, _ := to.Open(again, certAAD(tt.id))
		if strings.Count(string(text), checkedMark) > 1 {
			t.Errorf("%s: marked twice", tt.id)
		}
	}
}

// compressed returns the uncompressed point pub (0x04 || X || Y)
// compressed (0x02 or 0x03 as Y is even or odd, || X).
func compressed(pub []byte) []byte {
	size := (len(pub) - 1) / 2
	return append([]byte{2 + pub[len(pub)-1]&1}, pub[1:1+size]...)
}

// TestMarkOnlyWhatWasChecked: the mark says that the public key stored
// beside the scalar was compared with the scalar's, so no key whose stored
// public key was not compared gets it, from SealKey or from a rotation,
// even when the edge of today would parse it in full anyway: a key stored
// before upload checked it (here one that lies, its leaf's public key
// compressed beside another scalar; one followed by text; one whose block
// has headers) must stay checked by an edge that learns to build more keys
// from their stored public key. A rotation takes off the mark an earlier
// SealKey gave to every key it could not read (an RSA key here), and keeps
// it on a key it checked.
func TestMarkOnlyWhatWasChecked(t *testing.T) {
	from, to := testSealer(t), testSealer(t)
	ca := pkitest.NewCA(t, "Mark Root", time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	l := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.example.com"}, KeyType: "ecdsa-p256", KeyFormat: "sec1"})
	leafPub, err := l.Key.Public().(*ecdsa.PublicKey).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	_, otherPEM := pkitest.Key(t, "ecdsa-p256", "sec1")
	lyingCompressed := pkitest.WithECPublicKey(t, otherPEM, compressed(leafPub))
	lying := pkitest.WithECPublicKey(t, otherPEM, leafPub)
	withHeaders := strings.Replace(lying, "-----\n", "-----\nComment: stored long ago\n\n", 1)
	rsaLeaf := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.example.com"}, KeyType: "rsa-2048"})

	for name, text := range map[string]string{
		"lying, compressed":    lyingCompressed,
		"lying, text after it": lying + "a comment after the key\n",
		"lying, with headers":  withHeaders,
		"rsa":                  rsaLeaf.KeyPEM,
	} {
		sealed, err := SealKey(from, "k", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		if marked(t, from, "k", sealed) {
			t.Errorf("%s: SealKey marked a key whose stored public key it never compared", name)
		}
		old, err := from.Seal([]byte(text), certAAD("k")) // sealed before the mark
		if err != nil {
			t.Fatal(err)
		}
		again, err := resealCertKey(from, to, "k", old)
		if err != nil {
			t.Fatal(err)
		}
		if marked(t, to, "k", again) {
			t.Errorf("%s: a rotation marked a key whose stored public key it never compared", name)
		}
		oldMarked, err := sealKeyText(from, "k", []byte(text), true) // as SealKey marked every key it could not read
		if err != nil {
			t.Fatal(err)
		}
		if again, err = resealCertKey(from, to, "k", oldMarked); err != nil {
			t.Fatal(err)
		}
		if marked(t, to, "k", again) {
			t.Errorf("%s: a rotation kept the mark an earlier SealKey gave without a check", name)
		}
	}

	checked, err := SealKey(from, "c", []byte(l.KeyPEM))
	if err != nil {
		t.Fatal(err)
	}
	again, err := resealCertKey(from, to, "c", checked)
	if err != nil {
		t.Fatal(err)
	}
	if !marked(t, to, "c", again) {
		t.Error("a rotation took the mark off a key SealKey checked")
	}
	if _, err := OpenKeyFor(to, Certificate{ID: "c", SealedKey: again}, l.Cert.Raw); err != nil {
		t.Fatal(err)
	}
}

// TestSealValidKey: for a key that certcheck.ParsePrivateKey accepts (the
// uploads and the issued keys sealValidKey seals), sealValidKey marks
// exactly as SealKey does, without SealKey's scalar multiplication; and a
// key whose stored public key lies never gets that far, as
// ParsePrivateKey refuses it.
func TestSealValidKey(t *testing.T) {
	sealer := testSealer(t)
	for _, kt := range []pkitest.KeyType{"ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "rsa-2048", "ed25519"} {
		for _, kf := range []pkitest.KeyFormat{"pkcs8", "sec1"} {
			if kf == "sec1" && !strings.HasPrefix(string(kt), "ecdsa") {
				continue
			}
			_, keyPEM := pkitest.Key(t, kt, kf)
			if _, err := certcheck.ParsePrivateKey(keyPEM); err != nil {
				t.Fatalf("%s %s: %v", kt, kf, err)
			}
			want, err := SealKey(sealer, "k", []byte(keyPEM))
			if err != nil {
				t.Fatal(err)
			}
			got, err := sealValidKey(sealer, "k", []byte(keyPEM))
			if err != nil {
				t.Fatal(err)
			}
			if m, w := marked(t, sealer, "k", got), marked(t, sealer, "k", want); m != w {
				t.Errorf("%s %s: sealValidKey marked %v, SealKey %v", kt, kf, m, w)
			}
		}
	}
	_, otherPEM := pkitest.Key(t, "ecdsa-p256", "sec1")
	_, keyPEM := pkitest.Key(t, "ecdsa-p256", "sec1")
	key, err := certcheck.ParsePrivateKey(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := key.Public().(*ecdsa.PublicKey).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := certcheck.ParsePrivateKey(pkitest.WithECPublicKey(t, otherPEM, pub)); err == nil {
		t.Fatal("ParsePrivateKey accepted a key whose stored public key is another's: sealValidKey would mark it")
	}
}

// BenchmarkSealKey: sealing an ECDSA P-256 key with SealKey (the stored
// public key compared with the scalar's: a scalar multiplication) and with
// sealValidKey (a key the upload's validation compared already).
//
//	go test ./internal/cert -run '^$' -bench SealKey
func BenchmarkSealKey(b *testing.B) {
	mk, err := keyseal.Generate()
	if err != nil {
		b.Fatal(err)
	}
	sealer, err := keyseal.New(mk)
	if err != nil {
		b.Fatal(err)
	}
	_, keyPEM := pkitest.Key(b, "ecdsa-p256", "pkcs8")
	for name, seal := range map[string]func(domain.Sealer, string, []byte) ([]byte, error){"SealKey": SealKey, "sealValidKey": sealValidKey} {
		b.Run(name, func(b *testing.B) {
			for range b.N {
				if _, err := seal(sealer, "k", []byte(keyPEM)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
