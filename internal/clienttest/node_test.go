package clienttest

import (
	"bufio"
	"crypto/rand"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/esacert/esacert/internal/accesskey"
)

// nodeDriver is one running node/driver.js process.
type nodeDriver struct {
	mu  sync.Mutex
	in  io.WriteCloser
	out *bufio.Reader
}

// startDriver starts driver.js, or skips the test when Node.js or the npm
// packages are not installed (unless ESACERT_REQUIRE_NODE_CLIENTS=1, as CI
// sets, turns that into a failure).
func startDriver(t *testing.T) *nodeDriver {
	t.Helper()
	missing := func(why string) {
		if os.Getenv("ESACERT_REQUIRE_NODE_CLIENTS") == "1" {
			t.Fatalf("Node.js clients required but unavailable: %s", why)
		}
		t.Skipf("Node.js client tests skipped: %s (run: npm ci --prefix internal/clienttest/node)", why)
	}
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed")
	}
	if _, err := os.Stat(filepath.Join("node", "node_modules", "@alicloud", "esa20240910")); err != nil {
		missing("the npm packages are not installed")
	}
	cmd := exec.Command(nodeBin, "driver.js")
	cmd.Dir = "node"
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close()
		cmd.Wait()
	})
	return &nodeDriver{in: in, out: bufio.NewReader(out)}
}

type driverRequest struct {
	Client   string            `json:"client"`
	Endpoint string            `json:"endpoint"`
	Key      string            `json:"key"`
	Secret   string            `json:"secret"`
	Action   string            `json:"action"`
	Version  string            `json:"version"`
	Params   map[string]string `json:"params"`
	Nonce    string            `json:"nonce,omitempty"`
	Token    string            `json:"token,omitempty"`
}

type driverAnswer struct {
	OK    map[string]any `json:"ok"`
	Error *struct {
		Type       string `json:"type"`
		Code       string `json:"code"`
		StatusCode int    `json:"statusCode"`
		Message    string `json:"message"`
		// AccessDeniedDetail is what the SDK parsed of a denial's detail.
		AccessDeniedDetail map[string]any `json:"accessDeniedDetail"`
	} `json:"error"`
}

func (d *nodeDriver) do(t *testing.T, req driverRequest) driverAnswer {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	line, _ := json.Marshal(req)
	if _, err := d.in.Write(append(line, '\n')); err != nil {
		t.Fatal(err)
	}
	resp, err := d.out.ReadString('\n')
	if err != nil {
		t.Fatalf("driver.js: %v", err)
	}
	var a driverAnswer
	if err := json.Unmarshal([]byte(resp), &a); err != nil {
		t.Fatalf("driver.js answered %q: %v", resp, err)
	}
	return a
}

// nodeCaller is one Node.js client behind the driver.
type nodeCaller struct {
	d      *nodeDriver
	client string
	addr   string
	key    accesskey.Key
	token  string // an STS security token, sent with the key
	replay bool
	// denied, when set, receives the AccessDeniedDetail of an error answer.
	denied *map[string]any
}

func (c *nodeCaller) call(t *testing.T, action string, p map[string]string) (map[string]any, *apiError) {
	t.Helper()
	req := driverRequest{Client: c.client, Endpoint: c.addr, Key: c.key.ID, Secret: c.key.Secret, Action: action,
		Version: actionVersion(action), Params: p, Token: c.token}
	if c.replay {
		req.Nonce = rand.Text() // fresh for the first send, repeated by the second
		if first := c.d.do(t, req); first.Error != nil {
			t.Fatalf("%s before the replay: %+v", action, *first.Error)
		}
	}
	a := c.d.do(t, req)
	if a.Error == nil {
		return a.OK, nil
	}
	e := a.Error
	if c.denied != nil {
		*c.denied = e.AccessDeniedDetail
	}
	wantType := "ClientError" // the Tea clients' type for a 4xx
	if c.client == "pop" {
		wantType = e.Code + "Error" // pop-core names its error after the Code
	}
	if e.Type != wantType {
		t.Fatalf("%s: %s error of type %s (%s), want %s", c.client, action, e.Type, e.Message, wantType)
	}
	return nil, &apiError{Status: e.StatusCode, Code: e.Code, Message: e.Message}
}

func nodeKinds(d *nodeDriver) []clientKind {
	var kinds []clientKind
	for _, client := range []string{"esa", "esa-v2", "pop"} {
		kinds = append(kinds, clientKind{name: "node_" + strings.ReplaceAll(client, "-", "_"),
			make: func(t *testing.T, addr string, key accesskey.Key, replay bool) caller {
				return &nodeCaller{d: d, client: client, addr: addr, key: key, replay: replay}
			}})
	}
	return kinds
}

// TestNodeClientsManageSites runs the site and plan scenario with the
// official Node.js ESA SDK (both signatures) and pop-core.
func TestNodeClientsManageSites(t *testing.T) {
	d := startDriver(t)
	addr, key := startNode(t)
	for _, k := range nodeKinds(d) {
		t.Run(k.name, func(t *testing.T) {
			runSiteScenario(t, k.make(t, addr, key, false), strings.ReplaceAll(k.name, "_", "-"))
		})
	}
}

// TestNodeClientsSeeEnvelopeErrors provokes each envelope error with each
// Node.js client and checks its error type, Code and status.
func TestNodeClientsSeeEnvelopeErrors(t *testing.T) {
	d := startDriver(t)
	addr, key := startNode(t)
	for _, k := range nodeKinds(d) {
		t.Run(k.name, func(t *testing.T) { runEnvelopeErrors(t, k, addr, key) })
	}
}

// TestNodeClientsManageCertificates runs the certificate scenario with the
// Node.js clients.
func TestNodeClientsManageCertificates(t *testing.T) {
	d := startDriver(t)
	addr, key := startNode(t)
	for _, k := range nodeKinds(d) {
		t.Run(k.name, func(t *testing.T) {
			runCertScenario(t, k.make(t, addr, key, false), strings.ReplaceAll(k.name, "_", "-"))
		})
	}
}
