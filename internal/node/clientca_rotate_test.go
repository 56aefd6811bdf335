package node

import (
	"testing"
)

// TestRotationResealsSitesClientCAs: a site's client CA key (made by
// CreateClientCertificate) is re-sealed by a master key rotation, and the
// CA still signs afterwards, under the new key only.
func TestRotationResealsSitesClientCAs(t *testing.T) {
	cfg := testConfig(t)
	n, err := Start(t.Context(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	site := call(t, n, "2024-09-10", "CreateSite", map[string]string{"SiteName": "rotate-mtls.com"})
	siteID := jsonNumber(site["SiteId"])
	first := call(t, n, "2024-09-10", "CreateClientCertificate", map[string]string{"SiteId": siteID, "ValidityDays": "30", "PkeyType": "ECDSA"})
	stop(t, n)

	res, err := RotateMasterKey(t.Context(), cfg, quiet, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Resealed != 2 {
		t.Fatalf("RotateMasterKey resealed %d values, want 2 (the site's client CA key and the edge's ticket key)", res.Resealed)
	}
	n, err = Start(t.Context(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, n)
	if got := sealedBy(t, n); got[res.KeyID] != 2 || len(got) != 1 { // with the edge's ticket key
		t.Fatalf("sealed values by key: %v", got)
	}
	second := call(t, n, "2024-09-10", "CreateClientCertificate", map[string]string{"SiteId": siteID, "ValidityDays": "30", "PkeyType": "ECDSA"})
	if second["CACertificateId"] != first["CACertificateId"] {
		t.Errorf("after the rotation the certificate was signed by %v, want the site's CA %v", second["CACertificateId"], first["CACertificateId"])
	}
}
