// Package origintest starts HTTPS origins for tests of the edge's TLS to
// origins: a certificate a private CA signed (one the system roots do not
// trust), and optionally a required client certificate that another
// private CA signed (tls.RequireAndVerifyClientCert), as an origin that
// wants mutual TLS from the edge. It is for tests only.
package origintest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/pkitest"
)

// PKI is a private CA that signs origins' certificates and another that
// signs the client certificates origins accept.
type PKI struct {
	ServerCA, ClientCA *pkitest.CA
}

// NewPKI mints both CAs, valid from an hour ago for a year.
func NewPKI(t testing.TB) *PKI {
	t.Helper()
	start := time.Now().Add(-time.Hour)
	return &PKI{ServerCA: pkitest.NewCA(t, "Origin Private Root", start, start.Add(365*24*time.Hour)),
		ClientCA: pkitest.NewCA(t, "Edge Client Root", start, start.Add(365*24*time.Hour))}
}

// Start starts an HTTPS origin on 127.0.0.1 with a certificate of ServerCA
// for serverName, closed when the test ends, and returns its port. With
// requireClient it refuses a handshake without a client certificate of
// ClientCA. It answers "client CN" with the common name of the client
// certificate presented, else "no client certificate".
func (p *PKI) Start(t testing.TB, serverName string, requireClient bool) string {
	t.Helper()
	leaf := p.ServerCA.Leaf(t, pkitest.LeafOptions{DNSNames: []string{serverName}})
	pair, err := tls.X509KeyPair([]byte(leaf.ChainPEM), []byte(leaf.KeyPEM))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.PeerCertificates) == 0 {
			io.WriteString(w, "no client certificate")
			return
		}
		io.WriteString(w, "client "+r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	if requireClient {
		pool := x509.NewCertPool()
		pool.AddCert(p.ClientCA.Cert)
		srv.TLS.ClientAuth, srv.TLS.ClientCAs = tls.RequireAndVerifyClientCert, pool
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are what tests provoke
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return port
}

// ClientLeaf mints a client certificate of ClientCA with common name cn.
func (p *PKI) ClientLeaf(t testing.TB, cn string) *pkitest.Leaf {
	t.Helper()
	return p.ClientCA.Leaf(t, pkitest.LeafOptions{CommonName: cn, DNSNames: []string{cn + ".edge.test"}, ClientAuth: true})
}

// Visitor returns a visitor's GET through the edge whose HTTPS listener is
// at edgeAddr, whatever the URL's host, that answers the status and body
// (0 and the error when there is no answer). It trusts any certificate of
// the edge.
func Visitor(t testing.TB, edgeAddr string) func(url string) (int, string) {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, edgeAddr)
		},
	}}
	t.Cleanup(client.CloseIdleConnections)
	return func(url string) (int, string) {
		resp, err := client.Get(url)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
}
