package node

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/pkitest"
)

// servedLeaf returns the DER of the leaf the edge at addr presents for
// serverName, or nil when the handshake fails.
func servedLeaf(addr, serverName string) []byte {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr,
		&tls.Config{ServerName: serverName, InsecureSkipVerify: true})
	if err != nil {
		return nil
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].Raw
}

// TestTrailingDotNamesAgree: a certificate whose SANs are written with
// capitals and a trailing dot (and so twice) is stored, shown and served
// under its normalized names: GetCertificate lists each name once, without
// the dot, and the edge serves it for those names.
func TestTrailingDotNamesAgree(t *testing.T) {
	n, err := Start(t.Context(), testConfig(t), quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, n)
	now := time.Now()
	ca := pkitest.NewCA(t, "Dot Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	leaf := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"WWW.Dot-Names.com.", "www.dot-names.com", "*.Dot-Names.COM."},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
	siteID := jsonNumber(call(t, n, "2024-09-10", "CreateSite", map[string]string{"SiteName": "dot-names.com"})["SiteId"])
	id := call(t, n, "2024-09-10", "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload",
		"Certificate": leaf.ChainPEM, "PrivateKey": leaf.KeyPEM})["Id"].(string)
	got := call(t, n, "2024-09-10", "GetCertificate", map[string]string{"SiteId": siteID, "Id": id})
	res, _ := got["Result"].(map[string]any)
	if san := fmt.Sprint(res["SAN"]); san != "www.dot-names.com,*.dot-names.com" {
		t.Errorf("GetCertificate SAN = %q, want each name once, lowercased, without the trailing dot", san)
	}
	for _, host := range []string{"www.dot-names.com", "shop.dot-names.com", "WWW.Dot-Names.com."} {
		deadline := time.Now().Add(5 * time.Second)
		for !bytes.Equal(servedLeaf(n.HTTPSAddr(), host), leaf.Cert.Raw) {
			if time.Now().After(deadline) {
				t.Fatalf("the edge does not serve the certificate for %s", host)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// TestLimitsReachTheClient: a certificate over a limit is refused with the
// seed's Code and a message that names the limit, through the real SDK
// client, on SetCertificate and on the repository's UploadUserCertificate.
func TestLimitsReachTheClient(t *testing.T) {
	n, err := Start(t.Context(), testConfig(t), quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, n)
	now := time.Now()
	ca := pkitest.NewCA(t, "Limits Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	var names []string
	for i := range 101 {
		names = append(names, fmt.Sprintf("h%d.limits.com", i))
	}
	many := ca.Leaf(t, pkitest.LeafOptions{DNSNames: names, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
	// The RSA-8192 key of certcheck's hostile inputs (generating one takes
	// seconds), and a leaf for it.
	bigKey, err := os.ReadFile("../certcheck/testdata/rsa-8192.pem")
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(bigKey)
	key, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(8192), DNSNames: []string{"www.limits.com"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)}, ca.Cert, key.(crypto.Signer).Public(), ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	bigLeaf := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	siteID := jsonNumber(call(t, n, "2024-09-10", "CreateSite", map[string]string{"SiteName": "limits.com"})["SiteId"])
	tests := []struct {
		name, version, action string
		query                 map[string]string
		want                  []string
	}{
		{"fail/set-101-names", "2024-09-10", "SetCertificate",
			map[string]string{"SiteId": siteID, "Type": "upload", "Certificate": many.ChainPEM, "PrivateKey": many.KeyPEM},
			[]string{"InvalidSSLPub", "101 subject alternative names, at most 100"}},
		{"fail/upload-101-names", "2020-04-07", "UploadUserCertificate",
			map[string]string{"Name": "many", "Cert": many.ChainPEM, "Key": many.KeyPEM},
			[]string{"InvalidSSLPub", "at most 100"}},
		{"fail/set-rsa-8192", "2024-09-10", "SetCertificate",
			map[string]string{"SiteId": siteID, "Type": "upload", "Certificate": bigLeaf, "PrivateKey": string(bigKey)},
			[]string{"InvalidSSLPri", "RSA key of 8192 bits, at most 4096"}},
		{"fail/upload-rsa-8192", "2020-04-07", "UploadUserCertificate",
			map[string]string{"Name": "big", "Cert": bigLeaf, "Key": string(bigKey)},
			[]string{"InvalidSSLPri", "at most 4096"}},
		{"fail/set-text-over-64KiB", "2024-09-10", "SetCertificate",
			map[string]string{"SiteId": siteID, "Type": "upload", "Certificate": many.ChainPEM + strings.Repeat(" ", 64<<10), "PrivateKey": many.KeyPEM},
			[]string{"InvalidSSLPub", "at most 65536 (64 KiB)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := callErr(t, n, tt.version, tt.action, tt.query)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the answer does not say %q: %v", w, err)
				}
			}
		})
	}
}
