package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"

	"github.com/esacert/esacert/internal/config"
	"github.com/esacert/esacert/internal/keyseal"
	"github.com/esacert/esacert/internal/masterkey"
	"github.com/esacert/esacert/internal/pkitest"
	"github.com/esacert/esacert/internal/store/sqlstore"
	"github.com/esacert/esacert/internal/store/storetest"
)

// sealedBy returns how many sealed values each master key sealed in the
// node's database.
func sealedBy(t *testing.T, n *Node) map[string]int {
	t.Helper()
	counts, err := n.db.Load().SealedKeyCounts(t.Context(), keyseal.SealedBy)
	if err != nil {
		t.Fatal(err)
	}
	return counts
}

func ringIDs(t *testing.T, path string) []string {
	t.Helper()
	keys, err := keyseal.LoadRing(path)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, k := range keys {
		ids = append(ids, keyseal.KeyIDOf(k))
	}
	return ids
}

// TestRotateMasterKey rotates a database no node runs on: the new key
// opens everything, the old one alone no longer starts a node, and a second
// rotation to a key the operator supplies works too.
func TestRotateMasterKey(t *testing.T) {
	cfg := testConfig(t)
	n, err := Start(t.Context(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ca := pkitest.NewCA(t, "Rotate Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	leaf := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.rotate.com"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
	site := call(t, n, "2024-09-10", "CreateSite", map[string]string{"SiteName": "rotate.com"})
	siteID := jsonNumber(site["SiteId"])
	call(t, n, "2024-09-10", "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload", "Certificate": leaf.ChainPEM, "PrivateKey": leaf.KeyPEM})
	repo := call(t, n, "2020-04-07", "UploadUserCertificate", map[string]string{"Name": "rot", "Cert": leaf.ChainPEM, "Key": leaf.KeyPEM})
	casID := jsonNumber(repo["CertId"])
	stop(t, n)

	keyFile := filepath.Join(cfg.DataDir, MasterKeyFile)
	oldKey, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	oldID := ringIDs(t, keyFile)[0]
	var heard [][2]int
	res, err := RotateMasterKey(t.Context(), cfg, quiet, func(step string, done, total int) {
		if step == "reseal" {
			heard = append(heard, [2]int{done, total})
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	// The certificate, the repository's copy and the edge's ticket key.
	if want := [][2]int{{0, 3}, {1, 3}, {2, 3}, {3, 3}}; fmt.Sprint(heard) != fmt.Sprint(want) {
		t.Errorf("reseal progress %v, want %v", heard, want)
	}
	if res.Resealed != 3 || res.Path != keyFile || res.KeyID == oldID {
		t.Fatalf("RotateMasterKey = %+v; want 3 keys resealed under a new key in the data directory's master.key", res)
	}
	// The key file holds the new key first and the old one after it.
	if ids := ringIDs(t, keyFile); len(ids) != 2 || ids[0] != res.KeyID || ids[1] != oldID {
		t.Fatalf("master.key holds %v, want [%s %s]", ids, res.KeyID, oldID)
	}
	if fi, _ := os.Stat(keyFile); fi.Mode().Perm() != 0o600 {
		t.Errorf("master.key is %v, want 0600", fi.Mode().Perm())
	}

	// The new key opens everything.
	n, err = Start(t.Context(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if got := sealedBy(t, n); got[res.KeyID] != 3 || len(got) != 1 { // with the edge's ticket key
		t.Fatalf("sealed values by key: %v", got)
	}
	detail := call(t, n, "2020-04-07", "GetUserCertificateDetail", map[string]string{"CertId": casID})
	if detail["Key"] != leaf.KeyPEM {
		t.Fatal("after rotation the repository key does not read back byte for byte")
	}
	call(t, n, "2024-09-10", "SetCertificate", map[string]string{"SiteId": siteID, "Type": "cas", "CasId": casID})
	stop(t, n)

	// The old key alone no longer starts a node.
	old := cfg
	old.MasterKeyFile = filepath.Join(t.TempDir(), "old.key")
	os.WriteFile(old.MasterKeyFile, oldKey, 0o600)
	if _, err := Start(t.Context(), old, quiet); err == nil || !strings.Contains(err.Error(), "master key") {
		t.Fatalf("a node with the old master key started: %v", err)
	}

	// Rotating again, to a key the operator supplies.
	supplied := filepath.Join(t.TempDir(), "supplied.key")
	os.WriteFile(supplied, []byte(strings.Repeat("cd", 32)+"\n"), 0o600)
	cfg.NewMasterKeyFile = supplied
	res, err = RotateMasterKey(t.Context(), cfg, quiet, nil)
	if err != nil || res.Resealed != 4 || res.Path != supplied { // with the edge's ticket key
		t.Fatalf("second rotation = %+v, %v", res, err)
	}
	cfg.NewMasterKeyFile, cfg.MasterKeyFile = "", supplied
	n, err = Start(t.Context(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if call(t, n, "2020-04-07", "GetUserCertificateDetail", map[string]string{"CertId": casID})["Key"] != leaf.KeyPEM {
		t.Fatal("after the second rotation the key does not read back")
	}
	stop(t, n)
	// Rotating to the same key is refused, and changes nothing.
	cfg.NewMasterKeyFile = supplied
	if _, err := RotateMasterKey(t.Context(), cfg, quiet, nil); err == nil {
		t.Fatal("rotating to the current key was accepted")
	}
}

// TestRotationWhileANodeRuns: a node left running across a rotation reads
// the new key from its key file, seals with it, and keeps taking uploads:
// none fails, and nothing stays sealed under the old key.
func TestRotationWhileANodeRuns(t *testing.T) {
	cfg := testConfig(t)
	n, err := Start(t.Context(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { stop(t, n) }() // the node restarted below, not the first one
	now := time.Now()
	ca := pkitest.NewCA(t, "Live Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	one := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"one.live.com"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
	two := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"two.live.com"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
	first := call(t, n, "2020-04-07", "UploadUserCertificate", map[string]string{"Name": "one", "Cert": one.ChainPEM, "Key": one.KeyPEM})
	res, err := RotateMasterKey(t.Context(), cfg, quiet, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Nodes != 1 || res.Resealed != 2 { // the certificate's and the edge's ticket key
		t.Fatalf("rotation = %+v, want the running node switched and two keys resealed", res)
	}
	if got := n.keys.Ring().KeyID(); got != res.KeyID {
		t.Fatalf("the running node seals with %s, want %s", got, res.KeyID)
	}
	second := call(t, n, "2020-04-07", "UploadUserCertificate", map[string]string{"Name": "two", "Cert": two.ChainPEM, "Key": two.KeyPEM})
	if got := sealedBy(t, n); got[res.KeyID] != 3 || len(got) != 1 { // with the edge's ticket key
		t.Fatalf("sealed values by key after the rotation: %v", got)
	}
	for cert, leaf := range map[string]string{jsonNumber(first["CertId"]): one.KeyPEM, jsonNumber(second["CertId"]): two.KeyPEM} {
		if call(t, n, "2020-04-07", "GetUserCertificateDetail", map[string]string{"CertId": cert})["Key"] != leaf {
			t.Fatalf("repository key %s does not read back on the running node", cert)
		}
	}
	// A second rotation: the key file keeps the new key and the one before
	// it; the oldest moves to a file of its own, kept for old backups.
	keyFile := filepath.Join(cfg.DataDir, MasterKeyFile)
	oldest := ringIDs(t, keyFile)[1]
	again, err := RotateMasterKey(t.Context(), cfg, quiet, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ids := ringIDs(t, keyFile); len(ids) != 2 || ids[0] != again.KeyID || ids[1] != res.KeyID {
		t.Fatalf("master.key after the second rotation holds %v, want [%s %s]", ids, again.KeyID, res.KeyID)
	}
	retired, _ := filepath.Glob(keyFile + ".retired-*")
	if len(retired) != 1 || ringIDs(t, retired[0])[0] != oldest {
		t.Fatalf("the retired key was not kept: %v", retired)
	}
	if fi, err := os.Stat(retired[0]); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("retired key file: %v, %v", fi, err)
	}
	for deadline := time.Now().Add(5 * time.Second); n.keys.Ring().Has(oldest); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) { // it reads its key file again within a second
			t.Fatalf("the running node still holds the retired key: %v", n.keys.Ring().IDs())
		}
	}
	if n.keys.Ring().KeyID() != again.KeyID {
		t.Fatalf("the running node seals with %s, want %s", n.keys.Ring().KeyID(), again.KeyID)
	}
	// Restarted, everything opens.
	stop(t, n)
	n, err = Start(t.Context(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	call(t, n, "2020-04-07", "GetUserCertificateDetail", map[string]string{"CertId": jsonNumber(first["CertId"])})
}

// TestRotationWaitsForSilentNodes: a node that stopped reporting without
// leaving (killed, cut off from the database) and does not hold the new key
// blocks the rotation, named with how long it has been silent; a rotation
// that finished to a key the operator supplied is not undone by a run with
// a key file whose newest key is the previous one.
func TestRotationWaitsForSilentNodes(t *testing.T) {
	cfg := testConfig(t)
	n, err := Start(t.Context(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, n)
	store := n.db.Load()
	ghost := sqlstore.NodeInfo{ID: "ghost", Host: "edge-7", PID: 4242, Roles: "edge", KeyIDs: n.keys.Ring().IDs(),
		Sealing: n.keys.Ring().KeyID(), Started: time.Now().Add(-time.Hour)}
	if err := store.Heartbeat(t.Context(), ghost, time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	rot := &masterkey.Rotation{Store: store, Source: KeySource(cfg), Log: quiet, Wait: time.Second}
	before, _, _ := store.MasterKeys(t.Context())
	_, err = rot.Run(t.Context())
	if !errors.Is(err, masterkey.ErrNodesBehind) || !strings.Contains(err.Error(), "edge-7 pid 4242") || !strings.Contains(err.Error(), "not heard from") {
		t.Fatalf("rotation with a silent node that lacks the key: %v", err)
	}
	if cur, _, _ := store.MasterKeys(t.Context()); cur != before {
		t.Fatal("the refused rotation changed the database's key")
	}
	if next, _ := store.NextMasterKey(t.Context()); next != "" {
		t.Fatalf("the refused rotation left its next key recorded: %s", next)
	}
	// Once the silent node is known to hold the key, it no longer blocks:
	// holding it, it switches when it reports again.
	var fileIDs []string
	for _, k := range mustRing(t, cfg) {
		fileIDs = append(fileIDs, keyseal.KeyIDOf(k))
	}
	ghost.KeyIDs = fileIDs // now holds the new key (the first run wrote it into the file) as well
	if err := store.Heartbeat(t.Context(), ghost, time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	// The running node switches at its next report (every second or so):
	// a loaded machine (CI runs packages in parallel) may take a few.
	rot.Wait = 15 * time.Second
	res, err := rot.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if n.keys.Ring().KeyID() != res.KeyID {
		t.Fatal("the running node did not switch")
	}

	if err := store.Leave(t.Context(), "ghost"); err != nil {
		t.Fatal(err)
	}

	// A key the operator supplies, then a run with the old key file: its
	// newest key is now the previous one, and the run says so.
	supplied := filepath.Join(t.TempDir(), "supplied.key")
	k, _ := keyseal.Generate()
	keyseal.ReplaceRingFile(supplied, [][]byte{k})
	os.WriteFile(filepath.Join(cfg.DataDir, MasterKeyFile), []byte(keyseal.EncodeRing(append([][]byte{k}, mustRing(t, cfg)...))), 0o600)
	time.Sleep(1500 * time.Millisecond) // the node reads its key file again
	withKey := cfg
	withKey.NewMasterKeyFile = supplied
	if _, err := RotateMasterKey(t.Context(), withKey, quiet, nil); err != nil {
		t.Fatal(err)
	}
	old := cfg
	old.MasterKeyFile = filepath.Join(t.TempDir(), "old.key")
	keyseal.ReplaceRingFile(old.MasterKeyFile, mustRing(t, cfg)[1:])
	if _, err := RotateMasterKey(t.Context(), old, quiet, nil); err == nil || !strings.Contains(err.Error(), "previous master key") {
		t.Fatalf("a run whose newest key is the previous one: %v", err)
	}
	if cur, _, _ := store.MasterKeys(t.Context()); cur != keyseal.KeyIDOf(k) {
		t.Fatal("the database went back to the previous key")
	}
}

func mustRing(t *testing.T, cfg config.Config) [][]byte {
	t.Helper()
	keys, err := keyseal.LoadRing(filepath.Join(cfg.DataDir, MasterKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestRotationNamesNodesWithoutTheKey: two nodes on one database, each with
// its own key file; the rotation adds the new key to one file only and is
// refused, naming the other node, with nothing changed in the database.
// Once that node's file holds the key too, the rotation goes through.
func TestRotationNamesNodesWithoutTheKey(t *testing.T) {
	apiCfg := testConfig(t)
	apiCfg.Roles = "api"
	a, err := Start(t.Context(), apiCfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, a)
	shared := filepath.Join(apiCfg.DataDir, MasterKeyFile)
	edgeCfg := testConfig(t)
	edgeCfg.Roles, edgeCfg.DB = "edge", apiCfg.DB
	edgeCfg.MasterKeyFile = filepath.Join(edgeCfg.DataDir, "edge.key")
	data, _ := os.ReadFile(shared)
	os.WriteFile(edgeCfg.MasterKeyFile, data, 0o600)
	e, err := Start(t.Context(), edgeCfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, e)
	oldID := ringIDs(t, shared)[0]

	store := a.db.Load()
	rot := &masterkey.Rotation{Store: store, Source: KeySource(apiCfg), Log: quiet, Wait: 3 * time.Second}
	_, err = rot.Run(t.Context())
	if !errors.Is(err, masterkey.ErrNodesBehind) || !strings.Contains(err.Error(), "(edge)") || strings.Contains(err.Error(), "(api)") {
		t.Fatalf("rotation with the edge node lacking the key: %v", err)
	}
	if cur, _, _ := store.MasterKeys(t.Context()); cur != oldID {
		t.Fatalf("the refused rotation changed the database's key to %s", cur)
	}
	newID := ringIDs(t, shared)[0]
	if newID == oldID || a.keys.Ring().KeyID() != oldID || !a.keys.Ring().Has(newID) {
		t.Fatal("the API node should hold the new key, and still seal with the old one")
	}

	// The operator hands the edge node the new key file; a second run
	// rotates to the same new key.
	data, _ = os.ReadFile(shared)
	os.WriteFile(edgeCfg.MasterKeyFile+".tmp", data, 0o600)
	os.Rename(edgeCfg.MasterKeyFile+".tmp", edgeCfg.MasterKeyFile)
	res, err := rot.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if res.KeyID != newID || res.Nodes != 2 {
		t.Fatalf("rotation = %+v, want key %s and two nodes", res, newID)
	}
	for _, n := range []*Node{a, e} {
		if got := n.keys.Ring().KeyID(); got != newID {
			t.Errorf("a node seals with %s after the rotation", got)
		}
	}
	nodes, err := store.Nodes(t.Context(), time.Now().Add(-10*time.Second))
	if err != nil || len(nodes) != 2 {
		t.Fatalf("node list = %v, %v", nodes, err)
	}
}

// TestInterruptedRotation: a rotation stopped after the new key became
// current but before the reseal leaves values sealed by the old key; nodes
// start (their key file holds both), and running the rotation again
// finishes it without making yet another key.
func TestInterruptedRotation(t *testing.T) {
	cfg := testConfig(t)
	n, err := Start(t.Context(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ca := pkitest.NewCA(t, "Crash Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	leaf := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.crash.com"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
	repo := call(t, n, "2020-04-07", "UploadUserCertificate", map[string]string{"Name": "c", "Cert": leaf.ChainPEM, "Key": leaf.KeyPEM})
	stop(t, n)

	// Steps 1 and 3 of a rotation, then the crash.
	keyFile := filepath.Join(cfg.DataDir, MasterKeyFile)
	oldKeys, _ := keyseal.LoadRing(keyFile)
	newKey, _ := keyseal.Generate()
	if err := keyseal.ReplaceRingFile(keyFile, append([][]byte{newKey}, oldKeys...)); err != nil {
		t.Fatal(err)
	}
	store, err := sqlstore.Open(t.Context(), cfg.DB)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.SetMasterKey(t.Context(), keyseal.KeyIDOf(newKey)); err != nil {
		t.Fatal(err)
	}
	store.Close()

	n, err = Start(t.Context(), cfg, quiet)
	if err != nil {
		t.Fatalf("a node whose key file holds both keys did not start: %v", err)
	}
	defer stop(t, n)
	if n.keys.Ring().KeyID() != keyseal.KeyIDOf(newKey) {
		t.Fatal("the node does not seal with the database's current key")
	}
	res, err := RotateMasterKey(t.Context(), cfg, quiet, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.KeyID != keyseal.KeyIDOf(newKey) || res.Resealed != 2 { // the certificate's and the edge's ticket key
		t.Fatalf("finishing the rotation = %+v, want two keys resealed under %s", res, keyseal.KeyIDOf(newKey))
	}
	if got := sealedBy(t, n); got[res.KeyID] != 2 || len(got) != 1 {
		t.Fatalf("sealed values by key: %v", got)
	}
	if call(t, n, "2020-04-07", "GetUserCertificateDetail", map[string]string{"CertId": jsonNumber(repo["CertId"])})["Key"] != leaf.KeyPEM {
		t.Fatal("the key does not read back after the finished rotation")
	}
}

// TestRotationUnderLoadOnPostgres: two API nodes on one PostgreSQL database,
// each with its own copy of the key file, take a steady stream of uploads
// while the operator puts a new key first in both files and rotates. Not
// one request fails, every node ends sealing with the new key, and every
// value in the database is sealed by it.
func TestRotationUnderLoadOnPostgres(t *testing.T) {
	db := storetest.PostgresDatabase(t)
	keyA := filepath.Join(t.TempDir(), "a.key")
	keyB := filepath.Join(t.TempDir(), "b.key")
	first, _ := keyseal.Generate()
	for _, f := range []string{keyA, keyB} {
		if err := keyseal.ReplaceRingFile(f, [][]byte{first}); err != nil {
			t.Fatal(err)
		}
	}
	var nodes []*Node
	for _, f := range []string{keyA, keyB} {
		cfg := testConfig(t)
		cfg.DB, cfg.Roles, cfg.MasterKeyFile = db, "api", f
		n, err := Start(t.Context(), cfg, quiet)
		if err != nil {
			t.Fatal(err)
		}
		defer stop(t, n)
		nodes = append(nodes, n)
	}
	now := time.Now()
	ca := pkitest.NewCA(t, "Fleet Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	const sites = 4
	var siteIDs []string
	for i := range sites {
		name := "rot" + string(rune('a'+i)) + ".com"
		siteIDs = append(siteIDs, jsonNumber(call(t, nodes[0], "2024-09-10", "CreateSite", map[string]string{"SiteName": name})["SiteId"]))
	}
	leaves := make([]*pkitest.Leaf, sites)
	for i := range sites {
		leaves[i] = ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.rot" + string(rune('a'+i)) + ".com"},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
	}

	// Each site holds one certificate; the load replaces it again and again
	// (every replacement seals its key anew).
	certIDs := make([]string, sites)
	for i := range sites {
		certIDs[i] = jsonNumber(call(t, nodes[0], "2024-09-10", "SetCertificate", map[string]string{"SiteId": siteIDs[i], "Type": "upload",
			"Name": "rot", "Certificate": leaves[i].ChainPEM, "PrivateKey": leaves[i].KeyPEM})["Id"])
	}
	// And one repository certificate no request touches: the reseal moves it.
	kept := call(t, nodes[1], "2020-04-07", "UploadUserCertificate", map[string]string{"Name": "kept", "Cert": leaves[0].ChainPEM, "Key": leaves[0].KeyPEM})
	stopLoad := make(chan struct{})
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	// One alibaba-cloud-sdk-go client per goroutine and node: the tea SDK
	// shares one http.Client per endpoint and races on its timeout.
	for i := range sites {
		clients := make([]*sdk.Client, len(nodes))
		for k := range nodes {
			root := nodes[k].RootKey()
			c, err := sdk.NewClientWithAccessKey("cn-hangzhou", root.ID, root.Secret)
			if err != nil {
				t.Fatal(err)
			}
			clients[k] = c
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; ; j++ {
				select {
				case <-stopLoad:
					return
				default:
				}
				req := requests.NewCommonRequest()
				req.Method, req.Scheme, req.Domain = "POST", "http", nodes[(i+j)%2].APIAddr()
				req.Version, req.ApiName = "2024-09-10", "SetCertificate"
				for k, v := range map[string]string{"SiteId": siteIDs[i], "Type": "upload",
					"Id": certIDs[i], "Certificate": leaves[i].ChainPEM, "PrivateKey": leaves[i].KeyPEM} {
					req.FormParams[k] = v
				}
				_, err := clients[(i+j)%2].ProcessCommonRequest(req)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				} else {
					ok.Add(1)
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)

	// The operator adds the new key, first, to both nodes' files, then rotates.
	second, _ := keyseal.Generate()
	for _, f := range []string{keyA, keyB} {
		if err := keyseal.ReplaceRingFile(f, [][]byte{second, first}); err != nil {
			t.Fatal(err)
		}
	}
	rcfg := testConfig(t)
	rcfg.DB, rcfg.MasterKeyFile = db, keyA
	res, err := RotateMasterKey(t.Context(), rcfg, quiet, nil)
	time.Sleep(500 * time.Millisecond)
	close(stopLoad)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if failed.Load() != 0 {
		t.Fatalf("%d of %d uploads failed during the rotation; the first: %v", failed.Load(), failed.Load()+ok.Load(), firstErr.Load())
	}
	if ok.Load() < 10 {
		t.Fatalf("only %d uploads went through: the load did not run", ok.Load())
	}
	if res.KeyID != keyseal.KeyIDOf(second) || res.Nodes != 2 || res.Resealed < 1 {
		t.Fatalf("rotation = %+v", res)
	}
	for _, n := range nodes {
		if got := n.keys.Ring().KeyID(); got != res.KeyID {
			t.Errorf("a node seals with %s after the rotation", got)
		}
	}
	// A straggler sealed under the old key before its node switched is
	// allowed (the old key is the previous one, still in every file); count
	// what is left and check the next rotation leaves none.
	if got := sealedBy(t, nodes[0]); got[keyseal.KeyIDOf(first)] > 0 {
		t.Logf("values still sealed by the previous key: %d", got[keyseal.KeyIDOf(first)])
	}
	for _, n := range nodes {
		if call(t, n, "2020-04-07", "GetUserCertificateDetail", map[string]string{"CertId": jsonNumber(kept["CertId"])})["Key"] != leaves[0].KeyPEM {
			t.Fatal("the resealed repository key does not read back")
		}
	}
	if ids := ringIDs(t, keyA); len(ids) != 2 || ids[0] != res.KeyID {
		t.Fatalf("the key file after the rotation holds %v", ids)
	}
	t.Logf("%d uploads during the rotation, none failed; %d keys resealed", ok.Load(), res.Resealed)
}
