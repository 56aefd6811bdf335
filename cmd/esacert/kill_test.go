package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/pkitest"
	"github.com/esacert/esacert/internal/store/storetest"
)

// rpc calls one ESA action on addr with the RPC signature and returns the
// body, or the client's error.
func rpc(addr, id, secret, action string, query map[string]string) (map[string]any, error) {
	out, err := callAPI(addr, id, secret, "POST", action, query)
	if err != nil {
		return nil, err
	}
	body, _ := out["body"].(map[string]any)
	return body, nil
}

// TestAPINodeKilledMidStream: two API processes on one PostgreSQL database;
// a stream of SetCertificate goes to node A, which is killed with SIGKILL
// in the middle of it. Through node B every write A acknowledged is there
// and reads back whole (its SAN, status OK, all certificate fields), and
// nothing else is but at most the one write that was in flight.
func TestAPINodeKilledMidStream(t *testing.T) {
	dsn := storetest.PostgresDatabase(t)
	const id, secret = "LTAIkillkey0000000000001", "kill-secret-0123456789abcdefgh"
	conf := filepath.Join(t.TempDir(), "esacert.json")
	if err := os.WriteFile(conf, []byte(`{"plan_limits": {"basic": {"sites": 0, "custom_certs": 0, "free_certs": 0}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"ESACERT_DB=" + dsn, "ESACERT_ACCESS_KEY_ID=" + id, "ESACERT_ACCESS_KEY_SECRET=" + secret,
		"ESACERT_MASTER_KEY=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", "ESACERT_CONFIG=" + conf}
	addrA, _, _, procA := startServeProc(t, env, "--data", t.TempDir(), "--roles", "api")
	addrB, _, _ := startServe(t, env, "--data", t.TempDir())

	site, err := rpc(addrB, id, secret, "CreateSite", map[string]string{"SiteName": "kill-stream.com"})
	if err != nil {
		t.Fatal(err)
	}
	siteID := fmt.Sprint(site["SiteId"])
	now := time.Now()
	ca := pkitest.NewCA(t, "Kill Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	const n = 400
	leaves := make([]*pkitest.Leaf, n)
	for i := range leaves {
		leaves[i] = ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{fmt.Sprintf("h%d.kill-stream.com", i)},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
	}

	acked := map[string]string{} // certificate Id → name
	var sent atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i, l := range leaves {
			sent.Store(int64(i + 1))
			out, err := rpc(addrA, id, secret, "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload",
				"Certificate": l.ChainPEM, "PrivateKey": l.KeyPEM})
			if err != nil {
				return // A is gone
			}
			acked[fmt.Sprint(out["Id"])] = fmt.Sprintf("h%d.kill-stream.com", i)
		}
	}()
	for sent.Load() < 40 {
		time.Sleep(5 * time.Millisecond)
	}
	if err := procA.Kill(); err != nil {
		t.Fatal(err)
	}
	<-done
	if len(acked) == 0 || len(acked) >= n {
		t.Fatalf("%d writes acknowledged: the kill did not land mid-stream", len(acked))
	}

	list, err := rpc(addrB, id, secret, "ListCertificates", map[string]string{"SiteId": siteID, "PageSize": "500"})
	if err != nil {
		t.Fatal(err)
	}
	total, err := strconv.Atoi(fmt.Sprint(list["TotalCount"]))
	if err != nil {
		t.Fatalf("TotalCount %v", list["TotalCount"])
	}
	if total < len(acked) || total > len(acked)+1 {
		t.Fatalf("node B lists %d certificates; node A acknowledged %d", total, len(acked))
	}
	for certID, name := range acked {
		got, err := rpc(addrB, id, secret, "GetCertificate", map[string]string{"SiteId": siteID, "Id": certID})
		if err != nil {
			t.Fatalf("acknowledged certificate %s (%s) is missing: %v", certID, name, err)
		}
		res, _ := got["Result"].(map[string]any)
		if res["SAN"] != name || res["Status"] != "OK" {
			t.Errorf("certificate %s reads back as %v", certID, res)
		}
	}
}
