package clienttest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/pkitest"
)

// TestTerraformClientCaCertificateLifecycle replays
// alicloud_esa_client_ca_certificate as the provider sends it: create with
// RpcPost UploadClientCaCertificate (everything in the body), then its
// Update: RpcPost SetClientCaCertificateHostnames (Hostnames as one JSON
// text); Read with RpcGet GetClientCaCertificate and RpcPost
// GetClientCaCertificateHostnames; hostnames changed, set to [] and the
// attribute removed (both sent as "Hostnames=": the provider's
// convertListToJsonString makes "" of an empty list, as the real provider
// was seen to send);
// delete with RpcGet DeleteClientCaCertificate, after which a refresh finds
// it gone (HTTP 404, the provider's NotFoundError) and a second delete
// counts as done.
func TestTerraformClientCaCertificateLifecycle(t *testing.T) {
	addr, key := startNode(t)
	tf := tfClient{addr, key}
	now := time.Now()
	site := tf.do(t, "POST", "CreateSite", map[string]string{"SiteName": "tf-mtls.com", "AccessType": "NS", "Coverage": "overseas"})
	siteID := str(site.body["SiteId"])
	ca := pkitest.NewCA(t, "TF Client CA", now.Add(-time.Hour), now.Add(365*24*time.Hour))

	created := tf.do(t, "POST", "UploadClientCaCertificate", map[string]string{"SiteId": siteID, "Name": "tf-client-ca", "Certificate": ca.CertPEM})
	if created.status != 200 || str(created.body["Id"]) == "" {
		t.Fatalf("create: %d %v", created.status, created.body)
	}
	id := str(created.body["Id"]) // d.SetId("<SiteId>:<Id>")
	setHostnames := func(names []string) {
		t.Helper()
		raw := []byte{} // convertListToJsonString: "" for no names
		if len(names) > 0 {
			raw, _ = json.Marshal(names)
		}
		got := tf.do(t, "POST", "SetClientCaCertificateHostnames", map[string]string{"SiteId": siteID, "Id": id, "Hostnames": string(raw)})
		if got.status != 200 {
			t.Fatalf("SetClientCaCertificateHostnames %s: %d %v", raw, got.status, got.body)
		}
	}
	read := func(hostnames []string) {
		t.Helper()
		got := tf.do(t, "GET", "GetClientCaCertificate", map[string]string{"Id": id, "SiteId": siteID})
		if got.status != 200 {
			t.Fatalf("read: %d %v", got.status, got.body)
		}
		state := map[string]string{"certificate": str(got.body["Certificate"]), "site_id": str(got.body["SiteId"]),
			"client_ca_cert_name": str(dig(got.body, "Result.Name")), "client_ca_cert_id": str(dig(got.body, "Result.Id"))}
		want := map[string]string{"certificate": ca.CertPEM, "site_id": siteID, "client_ca_cert_name": "tf-client-ca", "client_ca_cert_id": id}
		for k, w := range want {
			if state[k] != w {
				t.Errorf("read: %s = %q, want %q (terraform plan would show a diff)", k, state[k], w)
			}
		}
		for _, k := range []string{"CreateTime", "Status"} {
			if str(dig(got.body, "Result."+k)) == "" {
				t.Errorf("read: Result.%s is empty", k)
			}
		}
		hs := tf.do(t, "POST", "GetClientCaCertificateHostnames", map[string]string{"Id": id, "SiteId": siteID})
		list, ok := hs.body["Hostnames"].([]any)
		if hs.status != 200 || !ok {
			t.Fatalf("read hostnames: %d %v (a list is required, empty or not)", hs.status, hs.body)
		}
		var names []string
		for _, h := range list {
			names = append(names, str(h))
		}
		if strings.Join(names, ",") != strings.Join(hostnames, ",") {
			t.Errorf("read hostnames = %v, want %v (terraform plan would show a diff)", names, hostnames)
		}
	}
	setHostnames([]string{"api.tf-mtls.com", "*.tf-mtls.com"})
	read([]string{"api.tf-mtls.com", "*.tf-mtls.com"})
	setHostnames([]string{"www.tf-mtls.com"})
	read([]string{"www.tf-mtls.com"})
	setHostnames([]string{}) // client_ca_certificate_hostnames = []
	read(nil)
	setHostnames([]string{"www.tf-mtls.com", "api.tf-mtls.com"})
	read([]string{"www.tf-mtls.com", "api.tf-mtls.com"})
	setHostnames(nil) // the attribute removed from main.tf
	read(nil)
	// Leaving Hostnames out (no client of ESA's does) is still a mistake.
	if got := tf.do(t, "POST", "SetClientCaCertificateHostnames", map[string]string{"SiteId": siteID, "Id": id}); got.status != 400 || got.body["Code"] != "MissingParameter" {
		t.Errorf("SetClientCaCertificateHostnames without Hostnames: %d %v, want 400 MissingParameter", got.status, got.body)
	}

	if del := tf.do(t, "GET", "DeleteClientCaCertificate", map[string]string{"SiteId": siteID, "Id": id}); del.status != 200 {
		t.Fatalf("delete: %d %v", del.status, del.body)
	}
	for _, c := range []struct{ method, action string }{{"GET", "GetClientCaCertificate"}, {"POST", "GetClientCaCertificateHostnames"},
		{"GET", "DeleteClientCaCertificate"}} {
		gone := tf.do(t, c.method, c.action, map[string]string{"SiteId": siteID, "Id": id})
		if gone.status != 404 || gone.body["Code"] != "Certificate.NotFound" {
			t.Errorf("%s after delete: %d %v, want 404 Certificate.NotFound", c.action, gone.status, gone.body)
		}
	}
}

// TestTerraformClientCertificateLifecycle replays
// alicloud_esa_client_certificate: create with RpcPost
// CreateClientCertificate (everything in the body), then its Update reads
// the certificate and, when the configured status differs, calls RpcGet
// RevokeClientCertificate or ActivateClientCertificate; Read with RpcGet
// GetClientCertificate; delete with RpcGet DeleteClientCertificate, after
// which a refresh finds it gone and a second delete counts as done.
func TestTerraformClientCertificateLifecycle(t *testing.T) {
	addr, key := startNode(t)
	tf := tfClient{addr, key}
	site := tf.do(t, "POST", "CreateSite", map[string]string{"SiteName": "tf-clientcert.com", "AccessType": "NS", "Coverage": "overseas"})
	siteID := str(site.body["SiteId"])
	signer, _ := pkitest.Key(t, "ecdsa-p256", "")

	for _, tc := range []struct {
		name   string
		params map[string]string
	}{
		{"generated key", map[string]string{"SiteId": siteID, "ValidityDays": "365", "PkeyType": "RSA"}},
		{"csr", map[string]string{"SiteId": siteID, "ValidityDays": "30", "CSR": csrPEM(t, signer, "tf-device.tf-clientcert.com")}},
		// As the real provider sent them for a main.tf that sets pkey_type
		// beside csr, and for a generated ECC key.
		{"csr and pkey_type", map[string]string{"SiteId": siteID, "ValidityDays": "365", "PkeyType": "ECC", "CSR": csrPEM(t, signer, "tf-device2.tf-clientcert.com")}},
		{"generated ECC key", map[string]string{"SiteId": siteID, "ValidityDays": "10", "PkeyType": "ECC"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			created := tf.do(t, "POST", "CreateClientCertificate", tc.params)
			if created.status != 200 || str(created.body["Id"]) == "" {
				t.Fatalf("create: %d %v", created.status, created.body)
			}
			id := str(created.body["Id"])
			read := func() map[string]string {
				t.Helper()
				got := tf.do(t, "GET", "GetClientCertificate", map[string]string{"Id": id, "SiteId": siteID})
				if got.status != 200 {
					t.Fatalf("read: %d %v", got.status, got.body)
				}
				return map[string]string{"site_id": str(got.body["SiteId"]), "status": str(dig(got.body, "Result.Status")),
					"client_cert_id": str(dig(got.body, "Result.Id")), "create_time": str(dig(got.body, "Result.CreateTime"))}
			}
			// The Update after the create: status = "revoked" in main.tf.
			if st := read(); st["status"] != "active" || st["client_cert_id"] != id || st["site_id"] != siteID || st["create_time"] == "" {
				t.Fatalf("read after create: %v", st)
			}
			if got := tf.do(t, "GET", "RevokeClientCertificate", map[string]string{"SiteId": siteID, "Id": id}); got.status != 200 {
				t.Fatalf("revoke: %d %v", got.status, got.body)
			}
			if st := read(); st["status"] != "revoked" {
				t.Errorf("status after revoke = %q, want revoked (terraform plan would show a diff)", st["status"])
			}
			// status = "active" in main.tf.
			if got := tf.do(t, "GET", "ActivateClientCertificate", map[string]string{"SiteId": siteID, "Id": id}); got.status != 200 {
				t.Fatalf("activate: %d %v", got.status, got.body)
			}
			if st := read(); st["status"] != "active" {
				t.Errorf("status after activate = %q, want active", st["status"])
			}
			if del := tf.do(t, "GET", "DeleteClientCertificate", map[string]string{"SiteId": siteID, "Id": id}); del.status != 200 {
				t.Fatalf("delete: %d %v", del.status, del.body)
			}
			for _, action := range []string{"GetClientCertificate", "DeleteClientCertificate"} {
				gone := tf.do(t, "GET", action, map[string]string{"SiteId": siteID, "Id": id})
				if gone.status != 404 || gone.body["Code"] != "Certificate.NotFound" {
					t.Errorf("%s after delete: %d %v, want 404 Certificate.NotFound", action, gone.status, gone.body)
				}
			}
		})
	}
}
