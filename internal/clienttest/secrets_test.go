package clienttest

import (
	"bytes"
	"context"
	"encoding/pem"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/config"
	"github.com/esacert/esacert/internal/node"
	"github.com/esacert/esacert/internal/pkitest"
)

// loggedNode starts a SQLite node whose log, debug level included, goes to
// the returned buffer; dataDir holds its database files.
func loggedNode(t *testing.T) (n *node.Node, dataDir string, logs *bytes.Buffer) {
	t.Helper()
	logs = &bytes.Buffer{}
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.DB = "sqlite:" + filepath.Join(cfg.DataDir, "esacert.db")
	cfg.APIAddr = "127.0.0.1:0"
	cfg.HTTPSAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	n, err := node.Start(t.Context(), cfg, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Shutdown(context.Background()) })
	return n, cfg.DataDir, logs
}

// databaseFiles reads the SQLite database files in dir (the database, its
// write-ahead log and shared memory): each by name, and all of them joined.
func databaseFiles(t *testing.T, dir string) (files map[string][]byte, all []byte) {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dir, "esacert.db*"))
	if len(names) == 0 {
		t.Fatal("no database files found")
	}
	files = map[string][]byte{}
	for _, p := range names {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(p)] = data
		all = append(all, data...)
	}
	return files, all
}

// keyFingerprints returns byte strings that would betray a private key if
// found: its whole PEM, its DER, and slices of its base64 body.
func keyFingerprints(t *testing.T, keyPEM string) [][]byte {
	t.Helper()
	block, _ := pem.Decode([]byte(keyPEM))
	if block == nil {
		t.Fatal("test key is not PEM")
	}
	body := strings.Join(strings.Split(keyPEM, "\n")[1:3], "")
	return [][]byte{[]byte(keyPEM), block.Bytes[len(block.Bytes)-32:], []byte(body[10:40])}
}

// TestPrivateKeysNeverInPlain uploads keys through the API (site
// certificates and the repository), then reads every byte of the database
// files (with the write-ahead log) and of the log output: no key appears.
func TestPrivateKeysNeverInPlain(t *testing.T) {
	n, dataDir, logs := loggedNode(t)
	c := teaKind(false).make(t, n.APIAddr(), n.RootKey(), false)
	v2 := teaKind(true).make(t, n.APIAddr(), n.RootKey(), false)

	now := time.Now()
	ca := pkitest.NewCA(t, "Secret Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	siteID := str(mustOK(t, c, "CreateSite", map[string]string{"SiteName": "secret.com"})["SiteId"])
	var keys []string
	for i, kt := range []pkitest.KeyType{"ecdsa-p256", "rsa-2048", "ed25519"} {
		l := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.secret.com"}, KeyType: kt, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour)})
		caller := c
		if i == 1 {
			caller = v2 // the RPC signature puts everything in the signed string
		}
		mustOK(t, caller, "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload", "Certificate": l.ChainPEM, "PrivateKey": l.KeyPEM})
		keys = append(keys, l.KeyPEM)
	}
	repo := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"repo.secret.com"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour)})
	mustOK(t, c, "UploadUserCertificate", map[string]string{"Name": "secret-repo", "Cert": repo.ChainPEM, "Key": repo.KeyPEM})
	keys = append(keys, repo.KeyPEM)
	// A wrong signature carrying a key must not echo it either.
	bad := teaKind(true).make(t, n.APIAddr(), accessKeyWithSecret(n.RootKey(), "wrong"), false)
	_, apiErr := bad.call(t, "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload", "Certificate": repo.ChainPEM, "PrivateKey": repo.KeyPEM})
	if apiErr == nil || apiErr.Code != "SignatureDoesNotMatch" {
		t.Fatalf("wrong secret answered %v", apiErr)
	}
	for _, fp := range keyFingerprints(t, repo.KeyPEM) {
		if strings.Contains(apiErr.Message, string(fp)) || strings.Contains(apiErr.Message, "PRIVATE") {
			t.Errorf("SignatureDoesNotMatch echoes the private key: %s", apiErr.Message)
		}
	}

	files, all := databaseFiles(t, dataDir)
	// Control: the certificate itself is stored in plain, so these reads do
	// see what the API stored.
	certBody := strings.Split(repo.CertPEM, "\n")[1]
	if !bytes.Contains(all, []byte(certBody)) {
		t.Fatal("the database files do not hold the uploaded certificate: the scan reads the wrong files")
	}
	for f, data := range files {
		for _, k := range keys {
			for _, fp := range keyFingerprints(t, k) {
				if bytes.Contains(data, fp) {
					t.Errorf("%s holds private key material in plain", f)
				}
			}
		}
		if bytes.Contains(data, []byte("PRIVATE KEY")) {
			t.Errorf("%s holds a PEM private key header", f)
		}
	}
	for _, k := range keys {
		for _, fp := range keyFingerprints(t, k) {
			if bytes.Contains(logs.Bytes(), fp) {
				t.Errorf("the log holds private key material")
			}
		}
	}
	if strings.Contains(logs.String(), n.RootKey().Secret) {
		t.Error("the log holds the access key secret")
	}
}

// TestAccessKeySecretsNeverInPlain creates RAM users' access keys through
// the API, then reads every byte of the database files and of the log, and
// every other answer about the keys and their users: the secrets appear
// only in CreateAccessKey's answer.
func TestAccessKeySecretsNeverInPlain(t *testing.T) {
	n, dataDir, logs := loggedNode(t)
	c := teaKind(false).make(t, n.APIAddr(), n.RootKey(), false)
	v2 := teaKind(true).make(t, n.APIAddr(), n.RootKey(), false)
	mustOK(t, c, "CreateUser", map[string]string{"UserName": "keeper"})
	var secrets []string
	for _, caller := range []caller{c, v2} {
		k := mustOK(t, caller, "CreateAccessKey", map[string]string{"UserName": "keeper"})
		secrets = append(secrets, str(dig(k, "AccessKey.AccessKeySecret")))
	}
	answers := []map[string]any{
		mustOK(t, c, "ListAccessKeys", map[string]string{"UserName": "keeper"}),
		mustOK(t, c, "GetUser", map[string]string{"UserName": "keeper"}),
		mustOK(t, c, "ListUsers", nil),
	}
	_, err := c.call(t, "CreateAccessKey", map[string]string{"UserName": "keeper"})
	if err == nil || err.Code != "LimitExceeded.User.AccessKey" {
		t.Fatalf("third key = %v", err)
	}
	_, all := databaseFiles(t, dataDir)
	if !bytes.Contains(all, []byte("keeper")) {
		t.Fatal("the database files do not hold the user: the scan reads the wrong files")
	}
	for _, s := range secrets {
		if len(s) != 30 {
			t.Fatalf("secret %q", s)
		}
		if bytes.Contains(all, []byte(s)) {
			t.Error("the database files hold an access key secret in plain")
		}
		if bytes.Contains(logs.Bytes(), []byte(s)) {
			t.Error("the log holds an access key secret")
		}
		if strings.Contains(err.Message, s) {
			t.Error("an error answer holds an access key secret")
		}
		for _, a := range answers {
			noSecrets(t, "an answer about the keys", a, s)
		}
	}
}
