package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/pkitest"
)

// cli runs esacert in this process with exactly the environment env (no
// other variable is seen) and returns its exit status and output.
func cli(env map[string]string, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, func(k string) string { return env[k] }, &out, &errOut)
	return code, out.String(), errOut.String()
}

// with returns a copy of env with the pairs k, v, … added.
func with(env map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range env {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// answer runs a call that must succeed and decodes its JSON answer.
func answer(t *testing.T, env map[string]string, args ...string) map[string]any {
	t.Helper()
	code, out, errOut := cli(env, args...)
	if code != 0 {
		t.Fatalf("esacert %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(out))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("esacert %s printed what is not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
	if m["RequestId"] == nil {
		t.Errorf("esacert %s: the answer has no RequestId:\n%s", strings.Join(args, " "), out)
	}
	return m
}

func writeFile(t *testing.T, name, content string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestAPICommand is a user on the node's machine: esacert api reads the
// node's configuration (ESACERT_DATA, ESACERT_API_ADDR), signs with the
// root key esacert wrote there, takes a certificate from files, and prints
// the answers; an error answer exits 1 with its Code and Message on stderr.
func TestAPICommand(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	addr, _, _ := startServe(t, nil, "--data", data)
	env := map[string]string{"ESACERT_DATA": data, "ESACERT_API_ADDR": addr}

	if got := answer(t, env, "api", "ListSites"); got["TotalCount"] != json.Number("0") {
		t.Errorf("ListSites on a new node: %v", got)
	}
	site := answer(t, env, "api", "CreateSite", "--SiteName", "example.com", "--AccessType=NS")["SiteId"].(json.Number).String()

	now := time.Now()
	ca := pkitest.NewCA(t, "CLI Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	leaf := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.example.com"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(90 * 24 * time.Hour)})
	certFile := writeFile(t, "www.pem", leaf.ChainPEM, 0o644)
	keyFile := writeFile(t, "www.key", leaf.KeyPEM, 0o600)
	id := answer(t, env, "api", "SetCertificate", "--SiteId", site, "--Type", "upload", "--Name", "@@www",
		"--Certificate", "@"+certFile, "--PrivateKey="+"@"+keyFile)["Id"].(string)
	got := answer(t, env, "api", "GetCertificate", "--SiteId", site, "--Id", id)
	if got["Certificate"] != leaf.ChainPEM {
		t.Errorf("GetCertificate does not give back the uploaded file byte for byte")
	}
	if name := got["Result"].(map[string]any)["Name"]; name != "@www" {
		t.Errorf("the certificate's name is %q, want @www (@@ sends one @)", name)
	}
	// A JSON-typed parameter, as given; flags after the action work too.
	rec := answer(t, env, "api", "CreateRecord", "--SiteId", site, "--RecordName", "www.example.com", "--Type", "A/AAAA",
		"--Ttl", "1", "--Data", `{"Value":"203.0.113.10"}`, "--Proxied", "true", "--BizName", "web")
	if rec["RecordId"] == nil {
		t.Errorf("CreateRecord: %v", rec)
	}
	// The answer is printed as the node sent it, indented.
	_, out, _ := cli(env, "api", "GetSite", "--SiteId", site)
	if !strings.HasPrefix(out, "{\n  \"RequestId\": ") || !strings.Contains(out, `"SiteId": `+site+",") {
		t.Errorf("GetSite printed:\n%s", out)
	}
	// RAM's actions are called with RAM's version without being told.
	if u := answer(t, env, "api", "CreateUser", "--UserName", "ci"); u["User"] == nil {
		t.Errorf("CreateUser: %v", u)
	}

	tests := []struct {
		name       string
		args       []string
		code       int
		stderr     []string
		stdoutNone bool
	}{
		{"fail/bad_parameter", []string{"api", "ListSites", "--PageSize", "x"}, 1, []string{"InvalidParameter", "PageSize", "RequestId: "}, true},
		{"fail/not_found", []string{"api", "GetCertificate", "--SiteId", site, "--Id", "00000000000000000000000000000000"}, 1,
			[]string{"Certificate.NotFound: ", "HTTP status: 404"}, true},
		{"fail/wrong_version", []string{"api", "ListSites", "--Version", "2015-05-01"}, 1, []string{"InvalidAction.NotFound"}, true},
		{"fail/unknown_action", []string{"api", "ListSite"}, 2, []string{`no action "ListSite"`}, true},
		{"fail/no_action", []string{"api"}, 2, []string{"usage: esacert api ACTION"}, true},
		{"fail/two_actions", []string{"api", "ListSites", "GetSite"}, 2, []string{"one action at a time"}, true},
		{"fail/missing_value", []string{"api", "GetSite", "--SiteId"}, 2, []string{"--SiteId needs a value"}, true},
		{"fail/twice", []string{"api", "GetSite", "--SiteId", "1", "--SiteId=2"}, 2, []string{"--SiteId is given twice"}, true},
		{"fail/missing_file", []string{"api", "SetCertificate", "--Certificate", "@/nonexistent.pem"}, 2, []string{"--Certificate", "no such file"}, true},
		{"fail/unknown_flag", []string{"api", "ListSites", "--nope"}, 2, []string{"nope"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := cli(env, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s", code, tt.code, errOut)
			}
			for _, w := range tt.stderr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr does not say %q:\n%s", w, errOut)
				}
			}
			if tt.stdoutNone && out != "" {
				t.Errorf("stdout is not empty:\n%s", out)
			}
		})
	}

	// The built binary, as a user runs it: the status and the streams.
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "api", "GetSite", "--SiteId", "1")
	cmd.Env = append(os.Environ(), "ESACERT_DATA="+data, "ESACERT_API_ADDR="+addr)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.HasPrefix(stderr.String(), "SiteNotFound: ") || stdout.Len() != 0 {
		t.Errorf("esacert api GetSite --SiteId 1: %v, stdout %q, stderr %q", err, stdout.String(), stderr.String())
	}
}

// TestAPIHelp: the actions with their APIs and versions, and one action's.
func TestAPIHelp(t *testing.T) {
	code, out, _ := cli(nil, "api", "--help")
	if code != 0 {
		t.Fatalf("esacert api --help: exit %d", code)
	}
	for _, w := range []string{"usage: esacert api ACTION", "ESA (--Version 2024-09-10):", "RAM (--Version 2015-05-01):",
		"CAS (--Version 2020-04-07):", "STS (--Version 2015-04-01):", "ActionTrail (--Version 2020-07-06):",
		"BssOpenApi (--Version 2017-12-14):", "--profile NAME"} {
		if !strings.Contains(out, w) {
			t.Errorf("esacert api --help does not say %q", w)
		}
	}
	for _, action := range []string{"SetCertificate", "LookupEvents"} { // wherever the lines wrap
		if !slices.Contains(strings.Fields(out), action) {
			t.Errorf("esacert api --help does not list %s", action)
		}
	}
	_, out, _ = cli(nil, "api", "UploadUserCertificate", "--help")
	if !strings.Contains(out, "UploadUserCertificate is an action of CAS, version 2020-04-07") {
		t.Errorf("esacert api UploadUserCertificate --help:\n%s", out)
	}
	_, out, _ = cli(nil, "api", "TagResources", "-h")
	if !strings.Contains(out, "of ESA, version 2024-09-10 (the default), and of RAM, version 2015-05-01 (--Version 2015-05-01)") {
		t.Errorf("esacert api TagResources -h:\n%s", out)
	}
}

// TestAPICredentials: the key from the environment (esacert's names and
// Alibaba Cloud's), from a profile in the user's configuration directory
// (a RAM user's key there, denied and then allowed by its policies), and
// no key at all.
func TestAPICredentials(t *testing.T) {
	key := accesskey.Key{ID: "LTAIclitestkey000000001", Secret: "cli-test-secret-0123456789abcd"}
	data := filepath.Join(t.TempDir(), "data")
	addr, _, _ := startServe(t, []string{"ESACERT_ACCESS_KEY_ID=" + key.ID, "ESACERT_ACCESS_KEY_SECRET=" + key.Secret}, "--data", data)
	node := map[string]string{"ESACERT_DATA": data, "ESACERT_API_ADDR": addr}

	answer(t, with(node, "ESACERT_ACCESS_KEY_ID", key.ID, "ESACERT_ACCESS_KEY_SECRET", key.Secret), "api", "ListSites")
	answer(t, with(node, "ALIBABA_CLOUD_ACCESS_KEY_ID", key.ID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET", key.Secret), "api", "ListSites")
	code, _, errOut := cli(with(node, "ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAIsomeoneelse", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", key.Secret), "api", "ListSites")
	if code != 1 || !strings.HasPrefix(errOut, "InvalidAccessKeyId.NotFound: ") {
		t.Errorf("an unknown key: exit %d\n%s", code, errOut)
	}
	// The node took its key from the environment: the data directory has
	// none, and the command says where a key can come from.
	code, _, errOut = cli(node, "api", "ListSites")
	if code != 2 || !strings.Contains(errOut, "no access key") || !strings.Contains(errOut, "ESACERT_ACCESS_KEY_ID") {
		t.Errorf("no key anywhere: exit %d\n%s", code, errOut)
	}

	root := with(node, "ESACERT_ACCESS_KEY_ID", key.ID, "ESACERT_ACCESS_KEY_SECRET", key.Secret)
	answer(t, root, "api", "CreateUser", "--UserName", "ci")
	ak := answer(t, root, "api", "CreateAccessKey", "--UserName", "ci")["AccessKey"].(map[string]any)
	home := t.TempDir()
	dir := filepath.Join(home, "config", "esacert")
	os.MkdirAll(dir, 0o700)
	profiles, _ := json.Marshal(map[string]any{
		"ci":   map[string]any{"endpoint": "http://" + addr, "access_key_id": ak["AccessKeyId"], "access_key_secret": ak["AccessKeySecret"]},
		"root": map[string]any{"endpoint": addr, "access_key_id": key.ID, "access_key_secret": key.Secret},
		"bare": map[string]any{"endpoint": addr},
	})
	if err := os.WriteFile(filepath.Join(dir, "profiles.json"), profiles, 0o600); err != nil {
		t.Fatal(err)
	}
	// Away from the node: no data directory, no node configuration.
	user := map[string]string{"HOME": home, "XDG_CONFIG_HOME": filepath.Join(home, "config")}
	answer(t, user, "api", "ListSites", "--profile", "root")
	answer(t, with(user, "ESACERT_PROFILE", "root"), "api", "ListSites")

	code, _, errOut = cli(user, "api", "ListSites", "--profile", "ci")
	if code != 1 || !strings.HasPrefix(errOut, "Forbidden.RAM: ") || !strings.Contains(errOut, "AccessDeniedDetail: ") {
		t.Errorf("a RAM user without a policy: exit %d\n%s", code, errOut)
	}
	answer(t, root, "api", "AttachPolicyToUser", "--PolicyType", "System", "--PolicyName", "AliyunESAReadOnlyAccess", "--UserName", "ci")
	answer(t, user, "api", "ListSites", "--profile", "ci")
	if id := answer(t, user, "api", "GetCallerIdentity", "--profile", "ci")["IdentityType"]; id != "RAMUser" {
		t.Errorf("GetCallerIdentity with the profile's key: IdentityType %v", id)
	}
	// A profile that names another node does not sign with the local
	// data directory's key.
	code, _, errOut = cli(with(user, "ESACERT_DATA", data), "api", "ListSites", "--profile", "bare")
	if code != 2 || !strings.Contains(errOut, "no access key to call http://"+addr) {
		t.Errorf("a profile without a key: exit %d\n%s", code, errOut)
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "esacert api"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	return writeFile(t, "api.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), 0o644),
		writeFile(t, "api.key", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})), 0o600)
}

// TestAPIOverTLS: against a node whose API has a certificate of its own,
// the node's configuration trusts that certificate; another endpoint needs
// --ca-file or --insecure, and says so without them.
func TestAPIOverTLS(t *testing.T) {
	certFile, keyFile := selfSigned(t)
	data := filepath.Join(t.TempDir(), "data")
	addr, _, _ := startServe(t, nil, "--data", data, "--api-tls-cert", certFile, "--api-tls-key", keyFile)
	node := map[string]string{"ESACERT_DATA": data, "ESACERT_API_ADDR": addr, "ESACERT_API_TLS_CERT": certFile, "ESACERT_API_TLS_KEY": keyFile}
	answer(t, node, "api", "ListSites")

	key, err := accesskey.Load(filepath.Join(data, "root-access-key"))
	if err != nil {
		t.Fatal(err)
	}
	remote := map[string]string{"ESACERT_ENDPOINT": "https://" + addr, "ESACERT_ACCESS_KEY_ID": key.ID, "ESACERT_ACCESS_KEY_SECRET": key.Secret}
	code, _, errOut := cli(remote, "api", "ListSites")
	if code != 1 || !strings.Contains(errOut, "not trusted") || !strings.Contains(errOut, "--ca-file") {
		t.Errorf("an untrusted certificate: exit %d\n%s", code, errOut)
	}
	answer(t, remote, "api", "ListSites", "--ca-file", certFile)
	answer(t, remote, "api", "ListSites", "--insecure")
	answer(t, with(remote, "ESACERT_CA_FILE", certFile), "api", "ListSites")
}

// TestCertsCommand: certificates across two sites, through the API: the
// expiring one first, then the failed issuance (with what failed), then
// the rest; as a table and as JSON.
func TestCertsCommand(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	// A CA that cannot be reached: its free certificates fail at once.
	addr, _, _ := startServe(t, nil, "--data", data, "--acme-ca", "down=https://127.0.0.1:1/directory")
	env := map[string]string{"ESACERT_DATA": data, "ESACERT_API_ADDR": addr}

	code, out, _ := cli(env, "certs")
	if code != 0 || out != "No certificates.\n" {
		t.Errorf("esacert certs on a new node: exit %d, %q", code, out)
	}
	com := answer(t, env, "api", "CreateSite", "--SiteName", "example.com")["SiteId"].(json.Number).String()
	org := answer(t, env, "api", "CreateSite", "--SiteName", "example.org")["SiteId"].(json.Number).String()
	now := time.Now()
	ca := pkitest.NewCA(t, "Certs Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	upload := func(site, name string, days int) string {
		leaf := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{name}, NotBefore: now.Add(-time.Hour),
			NotAfter: now.Add(time.Duration(days)*24*time.Hour + 12*time.Hour)})
		return answer(t, env, "api", "SetCertificate", "--SiteId", site, "--Type", "upload",
			"--Certificate", "@"+writeFile(t, "c.pem", leaf.ChainPEM, 0o600), "--PrivateKey", "@"+writeFile(t, "k.pem", leaf.KeyPEM, 0o600))["Id"].(string)
	}
	okID := upload(com, "api.example.com", 200)
	expiringID := upload(com, "www.example.com", 10)
	answer(t, env, "api", "ApplyCertificate", "--SiteId", org, "--Domains", "example.org", "--Type", "down")
	deadline := time.Now().Add(30 * time.Second)
	for {
		l := answer(t, env, "api", "ListCertificates", "--SiteId", org)["Result"].([]any)
		if len(l) == 1 && l[0].(map[string]any)["Status"] == "ApplyFailed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the free certificate did not fail within 30s: %v", l)
		}
		time.Sleep(100 * time.Millisecond)
	}

	code, out, errOut := cli(env, "certs", "--json")
	if code != 0 {
		t.Fatalf("esacert certs --json: exit %d\n%s", code, errOut)
	}
	var rows []struct {
		SiteName, Id, Type, Status, NotAfter, Problem, ApplyMessage string
		SiteId                                                      int64
		Names                                                       []string
		DaysLeft                                                    *int
		ApplyCode                                                   int
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 3 {
		t.Fatalf("esacert certs --json printed %d rows (%v):\n%s", len(rows), err, out)
	}
	if r := rows[0]; r.Id != expiringID || r.Problem != "expiring" || r.Status != "Expiring" || r.DaysLeft == nil || *r.DaysLeft != 10 ||
		r.SiteName != "example.com" || strconv.FormatInt(r.SiteId, 10) != com || strings.Join(r.Names, ",") != "www.example.com" {
		t.Errorf("first row: %+v, want the certificate expiring in 10 days", r)
	}
	if r := rows[1]; r.Problem != "failed" || r.Status != "ApplyFailed" || r.Type != "free" || r.ApplyCode == 0 || r.ApplyMessage == "" ||
		r.DaysLeft != nil || r.SiteName != "example.org" {
		t.Errorf("second row: %+v, want the failed free certificate", r)
	}
	if r := rows[2]; r.Id != okID || r.Problem != "" || r.Status != "OK" || r.DaysLeft == nil || *r.DaysLeft != 200 {
		t.Errorf("third row: %+v, want the certificate valid for 200 days", r)
	}

	code, out, _ = cli(env, "certs")
	lines := strings.Split(out, "\n")
	if code != 0 || len(lines) < 4 || !strings.HasPrefix(lines[0], "SITE ") {
		t.Fatalf("esacert certs: exit %d\n%s", code, out)
	}
	col := strings.Index(lines[0], "STATUS")
	for i, want := range []string{"Expiring", "ApplyFailed", "OK"} {
		if !strings.HasPrefix(lines[1+i][col:], want+" ") {
			t.Errorf("row %d does not show %s under STATUS:\n%s", i+1, want, out)
		}
	}
	if !strings.Contains(lines[1], expiringID) || !strings.HasSuffix(strings.TrimSpace(lines[1]), " 10") || !strings.Contains(lines[3], okID) {
		t.Errorf("the table's rows:\n%s", out)
	}
	if !strings.Contains(out, "Last failures:\n  example.org ") || !strings.Contains(out, "ApplyCode "+strconv.Itoa(rows[1].ApplyCode)+": ") {
		t.Errorf("the table does not say what failed:\n%s", out)
	}
}

// TestSortCerts: expired (the most recently expired first), expiring (the
// soonest first), failed (the latest first), then the rest (the soonest to
// expire first, not issued last).
func TestSortCerts(t *testing.T) {
	day := 24 * time.Hour
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := []certRow{
		{Id: "ok-late", Status: "OK", notAfter: t0.Add(300 * day)},
		{Id: "applying", Status: "Applying"},
		{Id: "expired-long-ago", Status: "Expired", notAfter: t0.Add(-100 * day)},
		{Id: "failed-renewal", Status: "OK", ApplyCode: 5, notAfter: t0.Add(50 * day), updated: t0.Add(-day)},
		{Id: "expiring-later", Status: "Expiring", notAfter: t0.Add(20 * day)},
		{Id: "ok-soon", Status: "OK", notAfter: t0.Add(40 * day)},
		{Id: "expired-yesterday", Status: "Expired", notAfter: t0.Add(-day)},
		{Id: "failed-now", Status: "ApplyFailed", updated: t0},
		{Id: "expiring-soon", Status: "Expiring", notAfter: t0.Add(2 * day)},
		{Id: "expired-and-failing", Status: "Expired", ApplyCode: 3, notAfter: t0.Add(-50 * day)},
	}
	for i := range rows {
		rows[i].Problem = problem(rows[i])
	}
	sortCerts(rows)
	var got []string
	for _, r := range rows {
		got = append(got, r.Id)
	}
	want := "expired-yesterday expired-and-failing expired-long-ago expiring-soon expiring-later failed-now failed-renewal ok-soon ok-late applying"
	if strings.Join(got, " ") != want {
		t.Errorf("order:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
}
