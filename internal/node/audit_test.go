package node

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/esacert/esacert/internal/config"
	"github.com/esacert/esacert/internal/pkitest"
)

// lookup calls ActionTrail's LookupEvents on the node, as the generic Go
// client sends it (LookupAttribute flattened), and returns the answer.
func lookup(t *testing.T, n *Node, q map[string]string) map[string]any {
	t.Helper()
	return call(t, n, "2020-07-06", "LookupEvents", q)
}

func events(t *testing.T, m map[string]any) []map[string]any {
	t.Helper()
	raw, _ := json.Marshal(m["Events"])
	var out []map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAuditTrail(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			testAuditTrail(t, dbConfig(t, db, "ab"))
		})
	}
}

// testAuditTrail: every change is recorded once with its principal and
// masked parameters, a refused change and a failed authentication too, reads
// only when asked; LookupEvents filters by attribute and pages stably.
func testAuditTrail(t *testing.T, cfg config.Config) {
	n, err := Start(t.Context(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { stop(t, n) }()
	now := time.Now()
	ca := pkitest.NewCA(t, "Audit Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	leaf := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.audit.com"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
	siteID := jsonNumber(call(t, n, "2024-09-10", "CreateSite", map[string]string{"SiteName": "audit.com"})["SiteId"])
	set := call(t, n, "2024-09-10", "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload",
		"Certificate": leaf.ChainPEM, "PrivateKey": leaf.KeyPEM})
	call(t, n, "2024-09-10", "GetCertificate", map[string]string{"SiteId": siteID, "Id": set["Id"].(string)})
	// A refused change: no certificate, a key only.
	if err := callErr(t, n, "2024-09-10", "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload", "PrivateKey": leaf.KeyPEM}); err == nil {
		t.Fatal("an upload without a certificate was accepted")
	}
	// A failed authentication: a key that does not exist.
	bad, _ := openapi.NewClient(&openapiutil.Config{AccessKeyId: tea.String("LTAIunknown0000"), AccessKeySecret: tea.String("nope"),
		Endpoint: tea.String(n.APIAddr()), Protocol: tea.String("http")})
	bad.CallApi(&openapiutil.Params{Action: tea.String("DeleteSite"), Version: tea.String("2024-09-10"), Protocol: tea.String("HTTP"),
		Pathname: tea.String("/"), Method: tea.String("POST"), AuthType: tea.String("AK"), Style: tea.String("RPC"),
		ReqBodyType: tea.String("formData"), BodyType: tea.String("json")},
		&openapiutil.OpenApiRequest{Query: map[string]*string{"SiteId": tea.String(siteID)}}, &dara.RuntimeOptions{})

	all := events(t, lookup(t, n, map[string]string{"MaxResults": "50", "Direction": "FORWARD"}))
	var names []string
	for _, e := range all {
		names = append(names, e["eventName"].(string)+"/"+e["errorCode"].(string))
		raw, _ := json.Marshal(e)
		if strings.Contains(string(raw), "PRIVATE KEY") || strings.Contains(string(raw), n.RootKey().Secret) {
			t.Fatalf("an event holds a secret: %s", raw)
		}
	}
	want := []string{"CreateSite/", "SetCertificate/", "SetCertificate/Certificate.MissingParameter", "DeleteSite/InvalidAccessKeyId.NotFound"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("events = %v, want %v (reads are not recorded unless asked)", names, want)
	}
	ok := all[1]
	who := ok["userIdentity"].(map[string]any)
	if who["type"] != "root-account" || who["accessKeyId"] != n.RootKey().ID || ok["eventRW"] != "Write" ||
		ok["resourceName"] != siteID || ok["serviceName"] != "esa" || ok["sourceIpAddress"] != "127.0.0.1" {
		t.Fatalf("the SetCertificate event: %v", ok)
	}
	params := ok["requestParameters"].(map[string]any)
	if !strings.HasPrefix(params["Certificate"].(string), "[PEM, ") || strings.Contains(params["PrivateKey"].(string), "BEGIN") {
		t.Fatalf("parameters are not kept masked: %v", params)
	}
	if got := all[3]["userIdentity"].(map[string]any); got["type"] != "unknown" {
		t.Fatalf("the failed authentication's principal: %v", got)
	}

	// Filters: by event name, and by read/write.
	sets := events(t, lookup(t, n, map[string]string{"LookupAttribute.1.Key": "EventName", "LookupAttribute.1.Value": "SetCertificate"}))
	if len(sets) != 2 {
		t.Fatalf("EventName=SetCertificate gave %d events", len(sets))
	}
	// Paging: one event a page, newest first, each once, in order.
	var paged []string
	token := ""
	for i := range 10 {
		q := map[string]string{"MaxResults": "1"}
		if token != "" {
			q["NextToken"] = token
		}
		page := lookup(t, n, q)
		for _, e := range events(t, page) {
			paged = append(paged, e["eventId"].(string))
		}
		token, _ = page["NextToken"].(string)
		if token == "" {
			break
		}
		// An event recorded while paging lands before the first page, not in the rest.
		call(t, n, "2024-09-10", "CreateRecord", map[string]string{"SiteId": siteID, "RecordName": "x" + strconv.Itoa(i) + ".audit.com",
			"Type": "TXT", "Ttl": "300", "Data": `{"Value":"v"}`})
	}
	if len(paged) != 4 || paged[0] != all[3]["eventId"] || paged[3] != all[0]["eventId"] {
		t.Fatalf("paged %v, want the four events newest first", paged)
	}
	if err := callErr(t, n, "2020-07-06", "LookupEvents", map[string]string{"NextToken": "garbage!"}); err == nil || !strings.Contains(err.Error(), "NextToken") {
		t.Fatalf("a made-up NextToken: %v", err)
	}
}
