package node

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sClient runs OpenSSL's s_client against the edge at addr for name with
// args, sends a request that closes the connection (so that the session
// tickets, sent after the handshake, are read) and returns what it printed.
func sClient(t *testing.T, openssl, addr, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, openssl, append([]string{"s_client", "-connect", addr, "-servername", name, "-ign_eof"}, args...)...)
	cmd.Stdin = strings.NewReader("GET / HTTP/1.1\r\nHost: " + name + "\r\nConnection: close\r\n\r\n")
	out, _ := cmd.CombinedOutput() // a refused handshake exits 1: what it printed says
	return string(out)
}

// TestOpenSSLClient: the edge through a TLS client that is not Go's,
// OpenSSL's s_client. It gets the OCSP response stapled (-status) for a
// host with OcspStapling on; it resumes its sessions, TLS 1.3 and TLS 1.2
// tickets (-sess_out, -sess_in); and once the certificate is deleted
// through the API its saved sessions are no longer resumed within a second.
func TestOpenSSLClient(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not installed (apt-get install openssl): the edge is tested through OpenSSL's client where it is")
	}
	leaf := newOCSPPKI(t, "OpenSSL Client").leaf(t, "www.openssl-client.com")
	n, err := Start(t.Context(), ocspConfig(t), quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, n)
	const name = "www.openssl-client.com"
	siteID := jsonNumber(call(t, n, "2024-09-10", "CreateSite", map[string]string{"SiteName": "openssl-client.com"})["SiteId"])
	certID, _ := call(t, n, "2024-09-10", "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload",
		"Certificate": leaf.ChainPEM, "PrivateKey": leaf.KeyPEM})["Id"].(string)
	call(t, n, "2024-09-10", "CreateHttpsBasicConfiguration", map[string]string{"SiteId": siteID, "OcspStapling": "on"})
	addr := n.HTTPSAddr()
	waitFor(t, "a staple", func() bool { _, s := staple(addr, name); return s != nil })

	out := sClient(t, openssl, addr, name, "-status")
	if !strings.Contains(out, "OCSP Response Status: successful") || !strings.Contains(out, "Cert Status: good") {
		t.Errorf("openssl s_client -status: no good response stapled:\n%s", out)
	}
	if !strings.Contains(out, "HTTP/1.1 ") {
		t.Errorf("openssl s_client: no answer to its request:\n%s", out)
	}

	dir := t.TempDir()
	versions := []string{"-tls1_3", "-tls1_2"}
	sessions := map[string]string{}
	for _, v := range versions {
		sess := filepath.Join(dir, v+".pem")
		sessions[v] = sess
		if out := sClient(t, openssl, addr, name, v, "-sess_out", sess); !strings.Contains(out, "New, TLSv1.") {
			t.Fatalf("openssl s_client %s: no new session:\n%s", v, out)
		}
		if _, err := os.Stat(sess); err != nil {
			t.Fatalf("openssl s_client %s kept no session: %v", v, err)
		}
		if out := sClient(t, openssl, addr, name, v, "-sess_in", sess); !strings.Contains(out, "Reused, TLSv1.") {
			t.Errorf("openssl s_client %s -sess_in: not resumed:\n%s", v, out)
		}
	}

	call(t, n, "2024-09-10", "DeleteCertificate", map[string]string{"SiteId": siteID, "Id": certID})
	deleted := time.Now()
	for _, v := range versions {
		for {
			out := sClient(t, openssl, addr, name, v, "-sess_in", sessions[v])
			if !strings.Contains(out, "Reused, TLSv1.") {
				break
			}
			if time.Since(deleted) > time.Second {
				t.Errorf("openssl s_client %s still resumed %v after the certificate was deleted:\n%s", v, time.Since(deleted), out)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
