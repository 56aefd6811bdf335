package api

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/keyseal"
	"github.com/esacert/esacert/internal/pkitest"
	"github.com/esacert/esacert/internal/store/sqlstore"
)

// TestSignatureMismatchNeverEchoesSecrets: the server's string to sign goes
// back with SignatureDoesNotMatch, but never when a parameter could carry a
// secret: by its name, by a secret field inside a JSON value (AuthConf's
// SecretKey, even empty, also inside BatchCreateRecords' RecordList), or by
// PEM key text in its value.
func TestSignatureMismatchNeverEchoesSecrets(t *testing.T) {
	env := newTestEnv(t, testNow)
	bad := &signer{key: "testAKID", secret: "wrong", now: testNow}
	const marker = "MARKERSECRET"
	tests := []struct {
		name   string
		action string
		form   url.Values
	}{
		{"PrivateKey", "CreateSite", url.Values{"PrivateKey": {marker}}},
		{"privateKey", "CreateSite", url.Values{"privateKey": {marker}}},
		{"EncryptPrivateKey", "CreateSite", url.Values{"EncryptPrivateKey": {marker}}},
		{"SignPrivateKey", "CreateSite", url.Values{"SignPrivateKey": {marker}}},
		{"Key", "CreateSite", url.Values{"Key": {marker}}},
		{"AccessKeySecret", "CreateSite", url.Values{"AccessKeySecret": {marker}}},
		{"SecurityToken", "CreateSite", url.Values{"SecurityToken": {marker}}},
		{"Password", "CreateSite", url.Values{"Password": {marker}}},
		{"pem_value_under_another_name", "CreateSite", url.Values{"Cert": {"-----BEGIN EC PRIVATE KEY-----" + marker}}},
		{"CreateRecord_AuthConf", "CreateRecord", url.Values{"SiteId": {"1"}, "RecordName": {"oss.a.com"}, "Type": {"CNAME"},
			"Data":     {`{"Value":"b.oss.example.com"}`},
			"AuthConf": {`{"AuthType":"private","AccessKey":"ak","SecretKey":"` + marker + `"}`}}},
		{"UpdateRecord_AuthConf", "UpdateRecord", url.Values{"RecordId": {"1"},
			"AuthConf": {`{"AuthType":"private","SecretKey":"` + marker + `"}`}}},
		{"AuthConf_with_empty_SecretKey", "CreateRecord", url.Values{"SiteId": {"1"}, "AuthConf": {`{"SecretKey":""}`}}},
		{"BatchCreateRecords_AuthConf", "BatchCreateRecords", url.Values{"SiteId": {"1"},
			"RecordList": {`[{"RecordName":"a.a.com","Type":"CNAME","AuthConf":{"AuthType":"private","SecretKey":"` + marker + `"}}]`}}},
		{"BatchCreateRecords_AuthConf_as_string", "BatchCreateRecords", url.Values{"SiteId": {"1"},
			"RecordList": {`[{"RecordName":"a.a.com","AuthConf":"{\"SecretKey\":\"` + marker + `\"}"}]`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := do(t, bad.rpc(t, env.url, "POST", tt.action, nil, tt.form))
			if a.code() != "SignatureDoesNotMatch" {
				t.Fatalf("got %s", a.raw)
			}
			if strings.Contains(a.raw, marker) || strings.Contains(a.raw, "string to sign") {
				t.Errorf("the answer echoes the string to sign of a request that can carry a secret: %s", a.raw)
			}
		})
	}
	// Clients rely on the echo to find signing bugs: requests without
	// secret-bearing parameters still get it.
	for _, tt := range []struct {
		name, action, want string
		form               url.Values
	}{
		{"ordinary_parameters", "CreateSite", "plain.com", url.Values{"SiteName": {"plain.com"}}},
		{"CreateRecord_without_AuthConf", "CreateRecord", "b.example.com",
			url.Values{"SiteId": {"1"}, "RecordName": {"a.a.com"}, "Type": {"CNAME"}, "Data": {`{"Value":"b.example.com"}`}}},
		{"json_without_secrets", "ListSites", "TagFilter", url.Values{"Keyword": {"k"}, "TagFilter": {`[{"Value":"v"}]`}}},
	} {
		t.Run("echoed/"+tt.name, func(t *testing.T) {
			a := do(t, bad.rpc(t, env.url, "POST", tt.action, nil, tt.form))
			if !strings.Contains(a.raw, "server string to sign is:POST&%2F&") || !strings.Contains(a.raw, tt.want) {
				t.Errorf("the string to sign is missing: %s", a.raw)
			}
		})
	}
}

// TestErrorsNeverQuoteSecrets: an error about a secret-bearing parameter
// (malformed, of the wrong type, not a key) names the parameter and never
// shows its value, in the answer or in a batch's Failed list.
func TestErrorsNeverQuoteSecrets(t *testing.T) {
	env := newSealingTestEnv(t)
	good := &signer{key: "testAKID", secret: "testSecret", now: testNow}
	site := do(t, good.rpc(t, env.url, "POST", "CreateSite", nil, url.Values{"SiteName": {"quote.com"}}))
	siteID := fmt.Sprintf("%.0f", site.body["SiteId"])
	ca := pkitest.NewCA(t, "Quote Root", testNow.Add(-time.Hour), testNow.Add(365*24*time.Hour))
	leaf := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"quote.com"}, KeyType: "ecdsa-p256",
		NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(90 * 24 * time.Hour)})
	const marker = "MARKERSECRET"
	pemMarker := "-----BEGIN PRIVATE KEY-----\n" + marker + "\n-----END PRIVATE KEY-----\n"
	record := url.Values{"SiteId": {siteID}, "RecordName": {"oss.quote.com"}, "Type": {"CNAME"}, "Proxied": {"true"},
		"SourceType": {"OSS"}, "BizName": {"web"}, "Data": {`{"Value":"b.oss.example.com"}`}}
	with := func(base url.Values, kv ...string) url.Values {
		v := url.Values{}
		for k, x := range base {
			v[k] = x
		}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	tests := []struct {
		name, action string
		form         url.Values
	}{
		{"AuthConf_not_json", "CreateRecord", with(record, "AuthConf", marker)},
		{"AuthConf_trailing", "CreateRecord", with(record, "AuthConf", `{"SecretKey":"`+marker+`"} x`)},
		{"AuthConf_secret_not_string", "CreateRecord", with(record, "AuthConf", `{"AuthType":"private","SecretKey":{"v":"`+marker+`"}}`)},
		{"AuthConf_key_twice", "CreateRecord", with(record, "AuthConf", `{"SecretKey":"`+marker+`","secretkey":"other"}`)},
		{"AuthConf_bad_type", "CreateRecord", with(record, "AuthConf", `{"AuthType":"nonsense","SecretKey":"`+marker+`"}`)},
		{"UpdateRecord_AuthConf", "UpdateRecord", url.Values{"RecordId": {"1"}, "AuthConf": {`{"SecretKey":1` + marker + `}`}}},
		{"BatchCreateRecords_AuthConf", "BatchCreateRecords", url.Values{"SiteId": {siteID}, "RecordList": {
			`[{"RecordName":"a.quote.com","Type":"CNAME","Proxied":true,"Data":{"Value":"b.example.com"},"AuthConf":"` + marker + `"},` +
				`{"RecordName":"b.quote.com","Type":"CNAME","Proxied":true,"Data":{"Value":"b.example.com"},"AuthConf":{"SecretKey":["` + marker + `"]}}]`}}},
		{"SetCertificate_key_text", "SetCertificate", url.Values{"SiteId": {siteID}, "Type": {"upload"},
			"Certificate": {leaf.ChainPEM}, "PrivateKey": {marker}}},
		{"SetCertificate_bad_key_pem", "SetCertificate", url.Values{"SiteId": {siteID}, "Type": {"upload"},
			"Certificate": {leaf.ChainPEM}, "PrivateKey": {pemMarker}}},
		{"UploadUserCertificate_key", "UploadUserCertificate", url.Values{"Version": {CASVersion}, "Name": {"q"},
			"Cert": {leaf.ChainPEM}, "Key": {pemMarker}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := do(t, good.rpc(t, env.url, "POST", tt.action, nil, tt.form))
			if a.status == 200 && tt.action != "BatchCreateRecords" {
				t.Fatalf("a malformed secret was accepted: %s", a.raw)
			}
			if strings.Contains(a.raw, marker) {
				t.Errorf("the answer shows a secret-bearing parameter's value: %s", a.raw)
			}
		})
	}
}

// TestMessageBoundsParameterName: a parameter name a client chose (a field
// of a RecordList item) is quoted bounded and cleaned.
func TestMessageBoundsParameterName(t *testing.T) {
	name := "\x1b[2J" + strings.Repeat("n.", 1<<19)
	for _, err := range []error{domain.Invalid(name, "must be a string"), domain.Missing(name)} {
		_, msg := lookup(err)
		if len(msg) > 300 || strings.Contains(msg, "\x1b") {
			t.Errorf("the message quotes the name unbounded (%d bytes): %.200q", len(msg), msg)
		}
	}
}

// newSealingTestEnv is a test server whose certificates and repository
// are its SQLite store, their keys sealed with a fresh master key.
func newSealingTestEnv(t *testing.T) *testEnv {
	t.Helper()
	env := newTestEnv(t, testNow)
	store := env.srv.Certs.Sites.(*sqlstore.Store)
	mk, err := keyseal.Generate()
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := keyseal.New(mk)
	if err != nil {
		t.Fatal(err)
	}
	env.srv.Certs.Certs, env.srv.Certs.Repo, env.srv.Certs.Sealer = store, store, sealer
	return env
}
