package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"
)

// leafCert is one generated certificate: the name it is for (its only
// subject alternative name), its chain in serving order (the leaf, then the
// intermediate that signed it) and its private key, in PEM.
type leafCert struct {
	Name     string
	ChainPEM string
	KeyPEM   string
}

// certName is the name of certificate i: www.bI.test, on site bI.test.
func certName(i int) string { return fmt.Sprintf("www.b%d.test", i) }

// siteName is the site certificate i belongs to in esacert.
func siteName(i int) string { return fmt.Sprintf("b%d.test", i) }

// pki is a root and an intermediate CA signing the leaves; the servers
// send each leaf with the intermediate, as from a public CA.
type pki struct {
	interCert *x509.Certificate
	interKey  *ecdsa.PrivateKey
	interPEM  string
	notBefore time.Time
	notAfter  time.Time
}

func newPKI(now time.Time) (*pki, error) {
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	p := &pki{notBefore: now.Add(-time.Hour), notAfter: now.Add(90 * 24 * time.Hour)}
	root := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "edgebench root"},
		NotBefore: p.notBefore, NotAfter: now.Add(365 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	rootDER, err := x509.CreateCertificate(rand.Reader, root, root, &rootKey.PublicKey, rootKey)
	if err != nil {
		return nil, err
	}
	if root, err = x509.ParseCertificate(rootDER); err != nil {
		return nil, err
	}
	if p.interKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	inter := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "edgebench intermediate"},
		NotBefore: p.notBefore, NotAfter: now.Add(365 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		MaxPathLenZero: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	interDER, err := x509.CreateCertificate(rand.Reader, inter, root, &p.interKey.PublicKey, rootKey)
	if err != nil {
		return nil, err
	}
	if p.interCert, err = x509.ParseCertificate(interDER); err != nil {
		return nil, err
	}
	p.interPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: interDER}))
	return p, nil
}

// leaf makes certificate i: a key of its own (ECDSA P-256) and a leaf for
// certName(i) valid 90 days, signed by the intermediate.
func (p *pki) leaf(i int) (leafCert, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return leafCert{}, err
	}
	name := certName(i)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(1000 + i)), Subject: pkix.Name{CommonName: name},
		DNSNames: []string{name}, NotBefore: p.notBefore, NotAfter: p.notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.interCert, &key.PublicKey, p.interKey)
	if err != nil {
		return leafCert{}, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return leafCert{}, err
	}
	return leafCert{
		Name:     name,
		ChainPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})) + p.interPEM,
		KeyPEM:   string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})),
	}, nil
}

// generate makes n certificates on every core.
func generate(n int, now time.Time) ([]leafCert, error) {
	p, err := newPKI(now)
	if err != nil {
		return nil, err
	}
	certs := make([]leafCert, n)
	err = parallel(n, func(i int) (err error) {
		certs[i], err = p.leaf(i)
		return err
	})
	if err != nil {
		return nil, err
	}
	return certs, nil
}

// parallel calls f for 0 to n-1 on every core: worker w takes w, w+cores,
// and so on, and stops at its first error; parallel returns the error of
// the first worker that had one, nil if none had.
func parallel(n int, f func(i int) error) error {
	errs := make([]error, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for w := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += len(errs) {
				if errs[w] = f(i); errs[w] != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// pemFile is where certificate c is written for nginx and HAProxy: one file
// holding its chain and then its key, as HAProxy loads it (nginx reads the
// same file for ssl_certificate and ssl_certificate_key).
func pemFile(dir string, c leafCert) string { return filepath.Join(dir, c.Name+".pem") }

// writeFiles writes every certificate's file into dir, on every core.
func writeFiles(dir string, certs []leafCert) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return parallel(len(certs), func(i int) error {
		return os.WriteFile(pemFile(dir, certs[i]), []byte(certs[i].ChainPEM+certs[i].KeyPEM), 0o600)
	})
}
