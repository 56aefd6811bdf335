// Package ocsptest is an OCSP responder for tests: an HTTP server on
// loopback that answers OCSP requests (GET and POST) for the certificates a
// test CA issued, signed by that CA, with the status the test sets.
package ocsptest

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"
)

// Responder answers OCSP requests for the certificates Issuer issued.
// Certificates it was told nothing of are good.
type Responder struct {
	URL string // where to send requests: the leaf's OCSP server

	issuer *x509.Certificate
	key    crypto.Signer
	srv    *httptest.Server

	mu       sync.Mutex
	revoked  map[string]time.Time // serial → revocation time
	validity time.Duration
	signer   crypto.Signer // signs instead of key when set (a wrong signature)
	down     bool

	Requests atomic.Int64 // OCSP requests answered (or refused while down)
}

// New starts a responder for the certificates issuer (with key) issued.
// Its responses are valid for a day from an hour ago.
func New(t testing.TB, issuer *x509.Certificate, key crypto.Signer) *Responder {
	t.Helper()
	r := &Responder{issuer: issuer, key: key, revoked: map[string]time.Time{}, validity: 24 * time.Hour}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	r.URL = r.srv.URL + "/ocsp"
	return r
}

// Revoke makes the responder answer that the certificate with serial is
// revoked.
func (r *Responder) Revoke(serial *big.Int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.revoked[serial.String()] = time.Now().Add(-time.Minute)
}

// SetDown makes the responder answer 503 (true) or answer again (false).
func (r *Responder) SetDown(down bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = down
}

// SetValidity sets how long its responses are valid from an hour ago.
func (r *Responder) SetValidity(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.validity = d
}

// SignWith makes the responder sign with key instead of the issuer's: its
// responses no longer verify.
func (r *Responder) SignWith(key crypto.Signer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.signer = key
}

// Close stops the responder (its URL then refuses connections).
func (r *Responder) Close() { r.srv.Close() }

func (r *Responder) serve(w http.ResponseWriter, req *http.Request) {
	r.Requests.Add(1)
	r.mu.Lock()
	down, validity, signer := r.down, r.validity, r.signer
	r.mu.Unlock()
	if down {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	var der []byte
	switch req.Method {
	case http.MethodPost:
		b, err := io.ReadAll(io.LimitReader(req.Body, 1<<16))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		der = b
	case http.MethodGet:
		enc, err := url.PathUnescape(strings.TrimPrefix(req.URL.EscapedPath(), "/ocsp/"))
		if err == nil {
			der, err = base64.StdEncoding.DecodeString(enc)
		}
		if err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
	default:
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	q, err := xocsp.ParseRequest(der)
	if err != nil {
		w.Write(xocsp.MalformedRequestErrorResponse)
		return
	}
	tmpl := xocsp.Response{Status: xocsp.Good, SerialNumber: q.SerialNumber,
		ThisUpdate: time.Now().Add(-time.Hour).Truncate(time.Second)}
	tmpl.NextUpdate = tmpl.ThisUpdate.Add(validity)
	r.mu.Lock()
	if at, ok := r.revoked[q.SerialNumber.String()]; ok {
		tmpl.Status, tmpl.RevokedAt, tmpl.RevocationReason = xocsp.Revoked, at.Truncate(time.Second), xocsp.KeyCompromise
	}
	r.mu.Unlock()
	if signer == nil {
		signer = r.key
	}
	resp, err := xocsp.CreateResponse(r.issuer, r.issuer, tmpl, signer)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/ocsp-response")
	w.Write(resp)
}
