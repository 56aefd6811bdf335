package clienttest

import (
	"context"
	"crypto/ecdsa"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/pkitest"
	"github.com/esacert/esacert/internal/store/sqlstore"
)

// TestSeedErrorTable raises every row of SetCertificate's error table
// (SetCertificate.md "Errors") in exactly the situation the table names,
// through a real node and the official Go client core.
func TestSeedErrorTable(t *testing.T) {
	n := startNodeOn(t, "", accesskey.Key{})
	c := teaKind(false).make(t, n.addr, n.key, false)
	now := time.Now()
	valid := func(ca *pkitest.CA, names ...string) *pkitest.Leaf {
		return ca.Leaf(t, pkitest.LeafOptions{DNSNames: names, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
	}

	siteID := str(mustOK(t, c, "CreateSite", map[string]string{"SiteName": "seed.com"})["SiteId"])
	ca := pkitest.NewCA(t, "Seed Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	otherCA := pkitest.NewCA(t, "Other Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	good := valid(ca, "www.seed.com")
	taken := valid(ca, "taken.seed.com")
	mustOK(t, c, "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload", "Name": "taken",
		"Certificate": taken.ChainPEM, "PrivateKey": taken.KeyPEM})
	repo := valid(ca, "repo.seed.com")
	casID := str(mustOK(t, c, "UploadUserCertificate", map[string]string{"Name": "seed-repo", "Cert": repo.ChainPEM, "Key": repo.KeyPEM})["CertId"])
	mustOK(t, c, "SetCertificate", map[string]string{"SiteId": siteID, "Type": "cas", "CasId": casID})
	expired := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"old.seed.com"}, NotBefore: now.Add(-60 * 24 * time.Hour), NotAfter: now.Add(-24 * time.Hour)})
	future := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"new.seed.com"}, NotBefore: now.Add(24 * time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
	foreign := valid(ca, "www.other.com")
	comma := valid(ca, "victim.com,www.seed.com")
	unrelated := valid(otherCA, "x.seed.com")
	weakKey, weakPEM := pkitest.Key(t, "rsa-1024", "pkcs1")
	_ = weakKey
	// taken's scalar beside good's public key: Go's parser ignores the
	// public key stored in an EC key, upload does not.
	goodPub, err := good.Key.Public().(*ecdsa.PublicKey).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	lyingPEM := pkitest.WithECPublicKey(t, taken.KeyPEM, goodPub)

	// A free certificate and a repository certificate sealed under another
	// master key, written straight into the node's database.
	store, err := sqlstore.Open(context.Background(), n.cfg.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	free := cert.Certificate{ID: strings.Repeat("f", 32), SiteID: mustInt(t, siteID), Name: "free-one", Type: cert.TypeFree,
		CertPEM: good.CertPEM, ChainPEM: good.CertPEM, SealedKey: []byte{1}, Created: now, Updated: now}
	if err := store.CreateCertificate(context.Background(), free, 0); err != nil {
		t.Fatal(err)
	}
	alien := cert.RepoCert{ID: 99000001, Name: "sealed-elsewhere", Region: "cn-hangzhou", CertPEM: repo.ChainPEM,
		SealedKey: append([]byte{1}, make([]byte, 40)...), Created: now}
	if err := store.CreateRepoCert(context.Background(), alien); err != nil {
		t.Fatal(err)
	}

	up := func(certPEM, keyPEM string) map[string]string {
		return map[string]string{"SiteId": siteID, "Type": "upload", "Certificate": certPEM, "PrivateKey": keyPEM}
	}
	with := func(m map[string]string, k, v string) map[string]string { m[k] = v; return m }
	tests := []struct {
		name   string
		params map[string]string
		status int
		code   string
	}{
		{"Certificate.StatusError/expired", up(expired.ChainPEM, expired.KeyPEM), 400, "Certificate.StatusError"},
		{"Certificate.StatusError/not_yet_valid", up(future.ChainPEM, future.KeyPEM), 400, "Certificate.StatusError"},
		{"Certificate.Duplicated/name", with(up(good.ChainPEM, good.KeyPEM), "Name", "taken"), 400, "Certificate.Duplicated"},
		{"Certificate.Duplicated/cas_id", map[string]string{"SiteId": siteID, "Type": "cas", "CasId": casID}, 400, "Certificate.Duplicated"},
		{"InvalidParameter/type", map[string]string{"SiteId": siteID, "Type": "pem"}, 400, "InvalidParameter"},
		{"InvalidParameter/keyless_not_yet", map[string]string{"SiteId": siteID, "Type": "keyless"}, 400, "InvalidParameter"},
		{"InvalidParameter/name_too_long", with(up(good.ChainPEM, good.KeyPEM), "Name", strings.Repeat("n", 129)), 400, "InvalidParameter"},
		{"InvalidParameter/site_id_not_a_number", with(up(good.ChainPEM, good.KeyPEM), "SiteId", "seed.com"), 400, "InvalidParameter"},
		{"InvalidParameter/update_without_id", with(up(good.ChainPEM, good.KeyPEM), "Update", "true"), 400, "InvalidParameter"},
		{"InvalidCertificate.NotFound/no_such_cas_id", map[string]string{"SiteId": siteID, "Type": "cas", "CasId": "12345678"}, 400, "InvalidCertificate.NotFound"},
		{"InvalidCertificate.NotFound/other_region", map[string]string{"SiteId": siteID, "Type": "cas", "CasId": casID, "Region": "ap-southeast-1"}, 400, "InvalidCertificate.NotFound"},
		{"InvalidSSLPub/garbage", up("not a certificate", good.KeyPEM), 400, "InvalidSSLPub"},
		{"InvalidSSLPub/unrelated_certificate", up(good.ChainPEM+unrelated.CertPEM, good.KeyPEM), 400, "InvalidSSLPub"},
		{"InvalidSSLPub/key_in_certificate_field", up(good.ChainPEM+good.KeyPEM, good.KeyPEM), 400, "InvalidSSLPub"},
		{"InvalidSSLPub/unarmoured_data_beside", up(good.ChainPEM+strings.Split(good.KeyPEM, "\n")[1]+"\n", good.KeyPEM), 400, "InvalidSSLPub"},
		{"InvalidSSLPub/comma_in_a_name", up(comma.ChainPEM, comma.KeyPEM), 400, "InvalidSSLPub"},
		{"InvalidSSLPri/garbage", up(good.ChainPEM, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 400, "InvalidSSLPri"},
		{"InvalidSSLPri/weak_rsa", up(good.ChainPEM, weakPEM), 400, "InvalidSSLPri"},
		{"InvalidSSLPri/ec_key_holding_another_public_key", up(good.ChainPEM, lyingPEM), 400, "InvalidSSLPri"},
		{"CasId.MissingParameter", map[string]string{"SiteId": siteID, "Type": "cas"}, 400, "CasId.MissingParameter"},
		{"PrivateKey.MissingParameter", map[string]string{"SiteId": siteID, "Type": "upload", "Certificate": good.ChainPEM}, 400, "PrivateKey.MissingParameter"},
		{"Certificate.MissingParameter", map[string]string{"SiteId": siteID, "Type": "upload", "PrivateKey": good.KeyPEM}, 400, "Certificate.MissingParameter"},
		{"InvalidParameter.SiteId", with(up(good.ChainPEM, good.KeyPEM), "SiteId", "1234567890123"), 400, "InvalidParameter.SiteId"},
		{"InternalException/key_sealed_elsewhere", map[string]string{"SiteId": siteID, "Type": "cas", "CasId": "99000001"}, 400, "InternalException"},
		{"UpdateFreeCertificate.NotSupport", with(up(good.ChainPEM, good.KeyPEM), "Id", free.ID), 400, "UpdateFreeCertificate.NotSupport"},
		{"CertificateDomainNotMatchSite", up(foreign.ChainPEM, foreign.KeyPEM), 400, "CertificateDomainNotMatchSite"},
		{"CertificateNotMatchPrivateKey", up(good.ChainPEM, taken.KeyPEM), 400, "CertificateNotMatchPrivateKey"},
		{"Certificate.NotFound", with(up(good.ChainPEM, good.KeyPEM), "Id", strings.Repeat("0", 32)), 404, "Certificate.NotFound"},
		{"MissingParameter/site_id", map[string]string{"Type": "upload", "Certificate": good.ChainPEM, "PrivateKey": good.KeyPEM}, 400, "MissingParameter"},
		{"MissingParameter/type", map[string]string{"SiteId": siteID}, 400, "MissingParameter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustFail(t, c, "SetCertificate", tt.params, tt.status, tt.code)
		})
	}
	// CertQuotaCheckFailed: the basic plan holds five custom certificates
	// (taken, the cas one, and three more).
	for i, name := range []string{"q1", "q2", "q3"} {
		l := valid(ca, name+".seed.com")
		mustOK(t, c, "SetCertificate", up(l.ChainPEM, l.KeyPEM))
		_ = i
	}
	t.Run("CertQuotaCheckFailed", func(t *testing.T) {
		mustFail(t, c, "SetCertificate", up(good.ChainPEM, good.KeyPEM), 400, "CertQuotaCheckFailed")
	})
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	for _, r := range s {
		n = n*10 + int64(r-'0')
	}
	return n
}
