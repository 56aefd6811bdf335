package api

import (
	"crypto/ecdsa"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/pkitest"
)

// TestUploadRefusesLyingECKey: an EC private key that carries, beside its
// private scalar, a public key that is not the scalar's (here the leaf's
// public key beside another key's scalar, which Go's parser would accept)
// is refused by SetCertificate and UploadUserCertificate with
// InvalidSSLPri, without quoting the key; the same key without the lie is
// refused as not matching, and the leaf's own key is accepted.
func TestUploadRefusesLyingECKey(t *testing.T) {
	env := newSealingTestEnv(t)
	root := &signer{key: "testAKID", secret: "testSecret", now: testNow}
	site := do(t, root.rpc(t, env.url, "POST", "CreateSite", nil, url.Values{"SiteName": {"lying.com"}}))
	siteID := fmt.Sprintf("%.0f", site.body["SiteId"])
	ca := pkitest.NewCA(t, "Lying Root", testNow.Add(-time.Hour), testNow.Add(365*24*time.Hour))
	for _, kf := range []pkitest.KeyFormat{"pkcs8", "sec1"} {
		leaf := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.lying.com"}, KeyType: "ecdsa-p256", KeyFormat: kf,
			NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(90 * 24 * time.Hour)})
		leafPub, err := leaf.Key.Public().(*ecdsa.PublicKey).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		_, otherPEM := pkitest.Key(t, "ecdsa-p256", kf)
		lying := pkitest.WithECPublicKey(t, otherPEM, leafPub)
		for _, tt := range []struct {
			name, key, code string
		}{
			{"lying", lying, "InvalidSSLPri"},
			{"other", otherPEM, "CertificateNotMatchPrivateKey"},
			{"own", leaf.KeyPEM, ""},
		} {
			set := do(t, root.rpc(t, env.url, "POST", "SetCertificate", nil, url.Values{"SiteId": {siteID}, "Type": {"upload"},
				"Name": {string(kf) + "-" + tt.name}, "Certificate": {leaf.ChainPEM}, "PrivateKey": {tt.key}}))
			repo := do(t, root.rpc(t, env.url, "POST", "UploadUserCertificate", nil, url.Values{"Version": {CASVersion},
				"Name": {string(kf) + "-" + tt.name}, "Cert": {leaf.ChainPEM}, "Key": {tt.key}}))
			for action, a := range map[string]answer{"SetCertificate": set, "UploadUserCertificate": repo} {
				if tt.code == "" {
					if a.status != 200 {
						t.Errorf("%s/%s with the leaf's own key: %d %s", kf, action, a.status, a.raw)
					}
					continue
				}
				if a.status != 400 || a.body["Code"] != tt.code {
					t.Errorf("%s/%s with the %s key: %d %s; want 400 %s", kf, action, tt.name, a.status, a.raw, tt.code)
				}
				if body := strings.Split(tt.key, "\n")[1]; strings.Contains(a.raw, body[:16]) {
					t.Errorf("%s/%s: the answer quotes the key: %s", kf, action, a.raw)
				}
			}
		}
	}
}
