package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// testCerts generates n certificates and writes their files into a
// temporary directory.
func testCerts(t *testing.T, n int) (dir string, certs []leafCert) {
	t.Helper()
	certs, err := generate(n, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	if err := writeFiles(filepath.Join(dir, "certs"), certs); err != nil {
		t.Fatal(err)
	}
	return dir, certs
}

func TestGenerateMakesOneNameACertificateWithItsOwnKey(t *testing.T) {
	dir, certs := testCerts(t, 5)
	keys := map[string]bool{}
	for i, c := range certs {
		if c.Name != certName(i) {
			t.Errorf("certificate %d is for %s, want %s", i, c.Name, certName(i))
		}
		file, err := os.ReadFile(pemFile(filepath.Join(dir, "certs"), c))
		if err != nil {
			t.Fatal(err)
		}
		// The file is what nginx and HAProxy load: chain and key together.
		pair, err := tls.X509KeyPair(file, file)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		if len(pair.Certificate) != 2 {
			t.Errorf("%s: chain of %d certificates, want the leaf and the intermediate", c.Name, len(pair.Certificate))
		}
		leaf, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != c.Name {
			t.Errorf("%s: names %v", c.Name, leaf.DNSNames)
		}
		inter, _ := x509.ParseCertificate(pair.Certificate[1])
		if err := leaf.CheckSignatureFrom(inter); err != nil {
			t.Errorf("%s: not signed by the intermediate sent with it: %v", c.Name, err)
		}
		block, _ := pem.Decode([]byte(c.KeyPEM))
		if keys[string(block.Bytes)] {
			t.Errorf("%s: key shared with another certificate", c.Name)
		}
		keys[string(block.Bytes)] = true
	}
}

func TestNginxConfigHasAServerPerName(t *testing.T) {
	dir, certs := testCerts(t, 3)
	conf := nginxConfig(dir, "127.0.0.1:8443", 2, filepath.Join(dir, "certs"), certs)
	if got := strings.Count(conf, "\tserver { listen 127.0.0.1:8443 ssl;"); got != 3 {
		t.Errorf("%d server blocks, want 3:\n%s", got, conf)
	}
	for _, c := range certs {
		f := pemFile(filepath.Join(dir, "certs"), c)
		if !strings.Contains(conf, "server_name "+c.Name+"; ssl_certificate "+f+"; ssl_certificate_key "+f+";") {
			t.Errorf("no server block for %s with its file:\n%s", c.Name, conf)
		}
	}
	checkNginx(t, dir, conf)
}

// TestNginxConfigOfManyNamesIsAccepted: nginx refuses to start when its
// hash of server names is too small for them.
func TestNginxConfigOfManyNamesIsAccepted(t *testing.T) {
	dir, certs := testCerts(t, 2000)
	checkNginx(t, dir, nginxConfig(dir, freeTestAddr(t), 2, filepath.Join(dir, "certs"), certs))
}

// checkNginx has nginx test conf (nginx -t: it parses it and loads every
// certificate), when nginx is installed.
func checkNginx(t *testing.T, dir, conf string) {
	t.Helper()
	bin, why := findBinary("", "ESACERT_NGINX", "nginx")
	if why != "" {
		t.Skip(why)
	}
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-t", "-p", dir+"/", "-c", path, "-e", filepath.Join(dir, "error.log")).CombinedOutput()
	if err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
}

func TestHAProxyConfigIsAccepted(t *testing.T) {
	dir, certs := testCerts(t, 3)
	list := crtList(filepath.Join(dir, "certs"), certs)
	lines := strings.Split(strings.TrimSuffix(list, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("crt-list of %d lines, want 3:\n%s", len(lines), list)
	}
	for i, c := range certs {
		if want := pemFile(filepath.Join(dir, "certs"), c) + " " + c.Name; lines[i] != want {
			t.Errorf("crt-list line %d: %q, want %q", i, lines[i], want)
		}
	}
	listPath := filepath.Join(dir, "crt-list.txt")
	if err := os.WriteFile(listPath, []byte(list), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := haproxyConfig(freeTestAddr(t), runtime.NumCPU(), listPath)
	if !strings.Contains(conf, "ssl crt-list "+listPath) {
		t.Errorf("the bind does not use the crt-list:\n%s", conf)
	}
	bin, why := findBinary("", "ESACERT_HAPROXY", "haproxy")
	if why != "" {
		t.Skip(why)
	}
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	// haproxy -c parses the configuration and loads every certificate.
	out, err := exec.Command(bin, "-c", "-f", path).CombinedOutput()
	if err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
}

func TestHashSize(t *testing.T) {
	for _, c := range []struct{ n, want int }{{1, 512}, {256, 512}, {257, 1024}, {100_000, 262_144}} {
		if got := hashSize(c.n); got != c.want {
			t.Errorf("hashSize(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}

func TestSampleSpreadsOverAllNames(t *testing.T) {
	names := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	got := sample(names, 4)
	if len(got) != 4 || got[0] != "a" || got[3] != "j" {
		t.Errorf("sample = %v, want 4 names from a to j", got)
	}
	if got := sample(names, 20); len(got) != 10 {
		t.Errorf("sample of more than there are = %v", got)
	}
}

func TestTableSaysWhatWasNotMeasured(t *testing.T) {
	var b bytes.Buffer
	rows := []row{
		{Server: "crypto/tls, 1 certificate", Full: result{Conns: 1000, Elapsed: time.Second, CPU: 400 * time.Millisecond},
			Res13: result{Conns: 2000, Resumed: 2000, Elapsed: time.Second, CPU: 300 * time.Millisecond}},
		{Server: "esacert", Ready: 1500 * time.Millisecond, Restart: 800 * time.Millisecond,
			Full:     result{Conns: 900, Elapsed: time.Second},
			Paired:   result{Conns: 1200, Elapsed: time.Second}, // the ratio is to it, not to the bare row's 1,000
			Res13:    result{Conns: 2000, Resumed: 1000, Elapsed: time.Second},
			Res12:    result{Conns: 12345, Resumed: 12345, Elapsed: time.Second},
			Paired13: result{Conns: 1000, Resumed: 1000, Elapsed: time.Second},  // resumed × bare, measured in turns: 2.00×
			Paired12: result{Conns: 10000, Resumed: 5000, Elapsed: time.Second}, // 1.23×, the bare server resuming half
			MemReady: memory{RSS: 100 << 20, PSS: 99 << 20}, MemAll: memory{RSS: 300 << 20, PSS: 100 << 20}},
		{Server: "HAProxy", Skipped: "haproxy is not installed"},
	}
	writeTable(&b, setup{Certs: 50_000, Clients: 4, Cores: 2, Duration: 10 * time.Second, Turns: 5, KeyExchange: "X25519",
		Versions: []string{"go1.26"}, Date: time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)}, 1000, rows)
	out := b.String()
	for _, want := range []string{
		"50,000 certificates",
		"| crypto/tls, 1 certificate | 0.00 s | 1,000 | 1.00× | 400 / 150 / — µs |",
		"| esacert | 1.50 s (restart: 0.80 s) | 900 | 0.75× | — | 2,000 (50% resumed) | 12,345 | 2.00× / 1.23× (bare 50% resumed) | 100 MB | 300 MB (PSS 100 MB) |",
		"| 2,000 | — | — | — | — |", // the bare row: no resumed × bare of its own
		"HAProxy: not measured: haproxy is not installed.",
		"× bare crypto/tls: each server's full handshakes against those of a bare server kept running beside it, measured in 5 turns each",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "| HAProxy |") {
		t.Errorf("a row for a server not measured:\n%s", out)
	}
}

func freeTestAddr(t *testing.T) string {
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// TestNginxLazyConfigIsAccepted: the configuration that names the
// certificate file by the client's SNI.
func TestNginxLazyConfigIsAccepted(t *testing.T) {
	dir, _ := testCerts(t, 3)
	conf := nginxLazyConfig(dir, freeTestAddr(t), 2, filepath.Join(dir, "certs"), currentUser())
	if want := "ssl_certificate " + filepath.Join(dir, "certs", "$ssl_server_name.pem") + ";"; !strings.Contains(conf, want) {
		t.Errorf("no %q:\n%s", want, conf)
	}
	checkNginx(t, dir, conf)
}
