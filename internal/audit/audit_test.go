package audit

import (
	"strings"
	"testing"
	"time"
)

func TestParams(t *testing.T) {
	got := Params(map[string][]string{
		"SiteId":         {"42"},
		"PrivateKey":     {"-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"},
		"Certificate":    {"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"},
		"AuthConf":       {`{"AuthType":"private","AccessKey":"AK","SecretKey":"sk-very-secret"}`},
		"Signature":      {"abc"},
		"SignatureNonce": {"n"},
		"Comment":        {strings.Repeat("x", 5000)},
	})
	if got["SiteId"] != "42" || !strings.HasPrefix(got["Certificate"], "[PEM, ") {
		t.Errorf("kept: %v", got)
	}
	for k, v := range got {
		if strings.Contains(v, "PRIVATE KEY") || strings.Contains(v, "sk-very-secret") || strings.Contains(v, "MIIE") {
			t.Errorf("%s keeps a secret: %q", k, v)
		}
	}
	if _, ok := got["Signature"]; ok {
		t.Error("the signature is kept")
	}
	if len(got["Comment"]) > MaxParam+32 {
		t.Errorf("a long value is kept whole: %d bytes", len(got["Comment"]))
	}
	if !strings.Contains(got["AuthConf"], "private") {
		t.Errorf("AuthConf lost what is not secret: %q", got["AuthConf"])
	}
}

func TestIsRead(t *testing.T) {
	for action, want := range map[string]bool{"GetSite": true, "ListSites": true, "LookupEvents": true,
		"SetCertificate": false, "DeleteSite": false, "VerifySite": false, "BatchCreateRecords": false} {
		if IsRead(action) != want {
			t.Errorf("IsRead(%s) = %v", action, !want)
		}
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	e := &Event{ID: "R", Time: time.Date(2026, 12, 4, 3, 12, 0, 0, time.UTC), Name: "SetCertificate", Service: "esa", Write: true,
		Principal: Principal{Type: PrincipalUser, UserName: "ci", AccessKeyID: "LTAIci"}, Params: map[string]string{"SiteId": "1"},
		Resource: "1", ResourceType: "ACS::ESA::Site", ErrorCode: "Forbidden.RAM"}
	raw, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Unmarshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	at := back.ActionTrail()
	if at["eventTime"] != "2026-12-04T03:12:00Z" || at["eventRW"] != "Write" || at["errorCode"] != "Forbidden.RAM" ||
		at["userIdentity"].(map[string]any)["userName"] != "ci" || at["resourceName"] != "1" {
		t.Fatalf("round trip: %v", at)
	}
	if !e.Claim() || e.Claim() || !e.Claimed() {
		t.Fatal("Claim is not once")
	}
	e.Unclaim()
	if e.Claimed() {
		t.Fatal("Unclaim")
	}
}
