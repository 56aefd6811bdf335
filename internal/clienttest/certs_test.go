package clienttest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/pkitest"
)

// runCertScenario manages certificates of a site from start to end with one
// client: uploads, read-back byte for byte, lists, replace in place, the
// repository and Type=cas, quota exhaustion, deletion.
func runCertScenario(t *testing.T, c caller, prefix string) {
	now := time.Now()
	site := "cert-" + prefix + ".com"
	created := mustOK(t, c, "CreateSite", map[string]string{"SiteName": site})
	siteID := str(created["SiteId"])

	ca := pkitest.NewCA(t, "Test Root "+prefix, now.Add(-time.Hour), now.Add(10*365*24*time.Hour))
	inter := ca.Intermediate(t, "Test Intermediate "+prefix, now.Add(-time.Hour), now.Add(5*365*24*time.Hour))
	ecdsa := inter.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www." + site, site}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(90 * 24 * time.Hour)})
	rsa := inter.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"*." + site}, KeyType: "rsa-2048", KeyFormat: "pkcs1",
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(20 * 24 * time.Hour)})
	// Uploaded as a user pastes it: CRLF line ends, intermediates first.
	uploaded := strings.ReplaceAll(inter.CertPEM+ecdsa.CertPEM, "\n", "\r\n")

	set := mustOK(t, c, "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload", "Name": "web",
		"Certificate": uploaded, "PrivateKey": ecdsa.KeyPEM})
	id := str(set["Id"])
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		t.Fatalf("SetCertificate Id = %q, want 32 lowercase hex characters", id)
	}
	got := mustOK(t, c, "GetCertificate", map[string]string{"SiteId": siteID, "Id": id})
	if str(got["Certificate"]) != uploaded {
		t.Errorf("GetCertificate does not echo the uploaded PEM byte for byte")
	}
	want := map[string]string{"SiteId": siteID, "SiteName": site, "Status": "OK", "Result.Id": id, "Result.Name": "web",
		"Result.Type": "upload", "Result.Status": "OK", "Result.SAN": "www." + site + "," + site,
		"Result.CommonName": "", "Result.PubAlg": "ECDSA", "Result.SigAlg": "ECDSA-SHA256", "Result.CasId": "",
		"Result.FingerprintSha256": fingerprint(ecdsa.Cert.Raw), "Result.IssuerCN": "Test Intermediate " + prefix,
		"Result.NotAfter": ecdsa.Cert.NotAfter.UTC().Format("2006-01-02 15:04:05")}
	checkFields(t, "GetCertificate", got, want)
	for _, secret := range []string{"PRIVATE KEY", strings.Split(ecdsa.KeyPEM, "\n")[1]} {
		if strings.Contains(fmt.Sprint(got), secret) {
			t.Fatalf("GetCertificate shows the private key")
		}
	}

	mustFail(t, c, "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload", "Name": "web",
		"Certificate": rsa.ChainPEM, "PrivateKey": rsa.KeyPEM}, 400, "Certificate.Duplicated")

	// Replace in place: same Id, new content, creation time kept.
	again := mustOK(t, c, "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload", "Id": id, "Name": "web",
		"Certificate": rsa.ChainPEM, "PrivateKey": rsa.KeyPEM})
	if str(again["Id"]) != id {
		t.Fatalf("replace answered Id %v, want %s", again["Id"], id)
	}
	replaced := mustOK(t, c, "GetCertificate", map[string]string{"SiteId": siteID, "Id": id})
	checkFields(t, "GetCertificate after replace", replaced, map[string]string{"Result.PubAlg": "RSA",
		"Result.SAN": "*." + site, "Result.Status": "Expiring", "Certificate": rsa.ChainPEM,
		"Result.CreateTime": str(dig(got, "Result.CreateTime"))})

	// The repository, and a site certificate taken from it.
	repoLeaf := inter.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"api." + site}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
	up := mustOK(t, c, "UploadUserCertificate", map[string]string{"Name": "repo-" + prefix, "Cert": repoLeaf.ChainPEM, "Key": repoLeaf.KeyPEM})
	casID := str(up["CertId"])
	if casID == "" || !strings.HasPrefix(str(up["ResourceId"]), "cas-upload-") {
		t.Fatalf("UploadUserCertificate answered %v", up)
	}
	mustFail(t, c, "UploadUserCertificate", map[string]string{"Name": "repo-" + prefix, "Cert": repoLeaf.ChainPEM, "Key": repoLeaf.KeyPEM}, 400, "NameRepeat")
	detail := mustOK(t, c, "GetUserCertificateDetail", map[string]string{"CertId": casID})
	if str(detail["Cert"]) != repoLeaf.ChainPEM || str(detail["Key"]) != repoLeaf.KeyPEM {
		t.Errorf("GetUserCertificateDetail does not return Cert and Key byte for byte")
	}
	filtered := mustOK(t, c, "GetUserCertificateDetail", map[string]string{"CertId": casID, "CertFilter": "true"})
	if _, ok := filtered["Key"]; ok {
		t.Errorf("CertFilter=true still returns the key")
	}
	orders := mustOK(t, c, "ListUserCertificateOrder", map[string]string{"OrderType": "UPLOAD", "Keyword": "repo-" + prefix})
	if str(dig(orders, "CertificateOrderList.0.CertificateId")) != casID || str(orders["TotalCount"]) != "1" {
		t.Errorf("ListUserCertificateOrder = %v", orders)
	}
	cas := mustOK(t, c, "ListCasCertificates", map[string]string{"SearchKeyword": "repo-" + prefix})
	if str(dig(cas, "Certificates.0.Id")) != casID {
		t.Errorf("ListCasCertificates = %v", cas)
	}
	fromRepo := mustOK(t, c, "SetCertificate", map[string]string{"SiteId": siteID, "Type": "cas", "CasId": casID, "Region": "cn-hangzhou"})
	casCert := str(fromRepo["Id"])
	mustFail(t, c, "SetCertificate", map[string]string{"SiteId": siteID, "Type": "cas", "CasId": casID}, 400, "Certificate.Duplicated")
	checkFields(t, "GetCertificate (cas)", mustOK(t, c, "GetCertificate", map[string]string{"SiteId": siteID, "Id": casCert}),
		map[string]string{"Result.Type": "cas", "Result.CasId": casID, "Result.Region": "cn-hangzhou",
			"Result.Name": "repo-" + prefix, "Certificate": repoLeaf.ChainPEM})

	list := mustOK(t, c, "ListCertificates", map[string]string{"SiteId": siteID})
	if str(list["TotalCount"]) != "2" || str(dig(list, "Result.0.Id")) != casCert || str(dig(list, "Result.1.Id")) != id {
		t.Errorf("ListCertificates (newest first) = %v", list)
	}
	kw := mustOK(t, c, "ListCertificates", map[string]string{"SiteId": siteID, "Keyword": "API."})
	if str(kw["TotalCount"]) != "1" || str(dig(kw, "Result.0.Id")) != casCert {
		t.Errorf("ListCertificates Keyword = %v", kw)
	}
	byRecord := mustOK(t, c, "ListCertificatesByRecord", map[string]string{"SiteId": siteID,
		"RecordName": "www." + site + ",a.b." + site, "Detail": "true"})
	checkFields(t, "ListCertificatesByRecord", byRecord, map[string]string{"TotalCount": "2",
		"Result.0.RecordName": "www." + site, "Result.0.Status": "Expiring", "Result.0.Count": "1",
		"Result.0.Certificates.0.Id": id, "Result.1.Status": "none", "Result.1.Count": "0"})

	quota := mustOK(t, c, "GetCertificateQuota", map[string]string{"SiteId": siteID, "Type": "custom"})
	checkFields(t, "GetCertificateQuota", quota, map[string]string{"Type": "custom", "Quota": "5", "QuotaUsage": "2"})
	for i := 0; i < 3; i++ {
		l := inter.Leaf(t, pkitest.LeafOptions{DNSNames: []string{fmt.Sprintf("q%d.%s", i, site)}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
		mustOK(t, c, "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload", "Certificate": l.ChainPEM, "PrivateKey": l.KeyPEM})
	}
	extra := inter.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"extra." + site}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
	mustFail(t, c, "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload", "Certificate": extra.ChainPEM, "PrivateKey": extra.KeyPEM}, 400, "CertQuotaCheckFailed")

	del := mustOK(t, c, "DeleteCertificate", map[string]string{"SiteId": siteID, "Id": id})
	checkFields(t, "DeleteCertificate", del, map[string]string{"Id": id, "SiteId": siteID, "SiteName": site})
	mustFail(t, c, "GetCertificate", map[string]string{"SiteId": siteID, "Id": id}, 404, "Certificate.NotFound")
	mustFail(t, c, "DeleteCertificate", map[string]string{"SiteId": siteID, "Id": id}, 404, "Certificate.NotFound")
	// With one deleted, the quota has room again.
	mustOK(t, c, "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload", "Certificate": extra.ChainPEM, "PrivateKey": extra.KeyPEM})

	mustOK(t, c, "DeleteUserCertificate", map[string]string{"CertId": casID})
	mustFail(t, c, "GetUserCertificateDetail", map[string]string{"CertId": casID}, 404, "NotFound")
	// The site's snapshot outlives the repository certificate.
	mustOK(t, c, "GetCertificate", map[string]string{"SiteId": siteID, "Id": casCert})
	mustOK(t, c, "DeleteSite", map[string]string{"SiteId": siteID})
	mustFail(t, c, "GetCertificate", map[string]string{"SiteId": siteID, "Id": casCert}, 400, "InvalidParameter.SiteId")
}

func checkFields(t *testing.T, what string, body map[string]any, want map[string]string) {
	t.Helper()
	for path, w := range want {
		if g := str(dig(body, path)); g != w {
			t.Errorf("%s %s = %q, want %q", what, path, g, w)
		}
	}
}

func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}
