// Package ocsp fetches the OCSP responses that the edge staples (see
// cert.OCSPResponse): for every certificate whose leaf names an OCSP
// responder and whose chain holds its issuer, a background loop (Refresher,
// run by the nodes with the renewer role) asks the responder, verifies the
// response's signature against the issuer and keeps it in the store, where
// every edge of the fleet reads it. Responses are fetched for every
// certificate with a responder, whether or not a host staples it, so that
// turning OcspStapling on takes effect at once.
//
// It uses golang.org/x/crypto/ocsp for the OCSP messages (RFC 6960).
package ocsp

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	xocsp "golang.org/x/crypto/ocsp"
)

// maxResponse bounds an OCSP response's body (real ones are a few KiB).
const maxResponse = 1 << 20

// ErrNoResponder is what Chain answers for a certificate that names no
// OCSP responder or whose chain holds no issuer: there is nothing to fetch.
var ErrNoResponder = errors.New("the certificate names no OCSP responder, or its chain holds no issuer")

// Chain parses a PEM chain into its leaf and the leaf's issuer (the next
// certificate of the chain), and returns the leaf's first HTTP OCSP
// responder. It answers ErrNoResponder when there is nothing to fetch.
func Chain(chainPEM string) (leaf, issuer *x509.Certificate, responder string, err error) {
	rest := []byte(chainPEM)
	var certs []*x509.Certificate
	for len(certs) < 2 {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, nil, "", fmt.Errorf("parse the certificate chain: %w", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, nil, "", errors.New("the certificate chain holds no certificate")
	}
	leaf = certs[0]
	for _, u := range leaf.OCSPServer {
		if strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") {
			responder = u
			break
		}
	}
	if responder == "" || len(certs) < 2 {
		return leaf, nil, "", ErrNoResponder
	}
	issuer = certs[1]
	if err := leaf.CheckSignatureFrom(issuer); err != nil {
		return leaf, nil, "", fmt.Errorf("%w (the second certificate of the chain did not sign the leaf: %v)", ErrNoResponder, err)
	}
	return leaf, issuer, responder, nil
}

// Fetch asks responder for the status of leaf and returns the DER response
// and its parsed form, verified: signed by issuer (or by a responder
// certificate issuer signed), for leaf's serial number, and answering
// "successful". Small requests go by GET (cacheable, RFC 5019), others by
// POST.
func Fetch(ctx context.Context, client *http.Client, responder string, leaf, issuer *x509.Certificate) ([]byte, *xocsp.Response, error) {
	req, err := xocsp.CreateRequest(leaf, issuer, &xocsp.RequestOptions{Hash: crypto.SHA1})
	if err != nil {
		return nil, nil, fmt.Errorf("build the OCSP request: %w", err)
	}
	var hr *http.Request
	if enc := base64.StdEncoding.EncodeToString(req); len(responder)+len(enc) < 255 {
		hr, err = http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(responder, "/")+"/"+url.PathEscape(enc), nil)
	} else {
		hr, err = http.NewRequestWithContext(ctx, http.MethodPost, responder, bytes.NewReader(req))
		if hr != nil {
			hr.Header.Set("Content-Type", "application/ocsp-request")
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("OCSP responder %s: %w", responder, err)
	}
	hr.Header.Set("Accept", "application/ocsp-response")
	res, err := client.Do(hr)
	if err != nil {
		return nil, nil, fmt.Errorf("OCSP responder %s: %w", responder, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxResponse+1))
	if err != nil {
		return nil, nil, fmt.Errorf("OCSP responder %s: read the response: %w", responder, err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("OCSP responder %s answered HTTP %d", responder, res.StatusCode)
	}
	if len(body) > maxResponse {
		return nil, nil, fmt.Errorf("OCSP responder %s answered more than %d bytes", responder, maxResponse)
	}
	parsed, err := xocsp.ParseResponseForCert(body, leaf, issuer)
	if err != nil {
		return nil, nil, fmt.Errorf("OCSP responder %s: the response is not usable: %w", responder, err)
	}
	return body, parsed, nil
}

// validity is the time a response is good for: until its NextUpdate, or
// an hour after its ThisUpdate when it has none (RFC 6960 then means newer
// information is always available).
func validity(r *xocsp.Response) (from, until time.Time) {
	if r.NextUpdate.IsZero() {
		return r.ThisUpdate, r.ThisUpdate.Add(time.Hour)
	}
	return r.ThisUpdate, r.NextUpdate
}
