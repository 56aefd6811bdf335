package clienttest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/pkitest"
)

// The official SDKs' HTTP method of each origin certificate action, and the
// parameters they send in the query of a POST whose others go in the form
// body (esa-api.md §6: Upload… and Set… put the PEMs and lists in the body;
// UploadOriginClientCertificate keeps SiteId in the query).
func init() {
	for _, kind := range []string{"OriginCaCertificate", "OriginClientCertificate"} {
		sdkMethods["Upload"+kind] = "POST"
		sdkMethods["Get"+kind] = "GET"
		sdkMethods["List"+kind+"s"] = "GET"
		sdkMethods["Delete"+kind] = "GET"
	}
	sdkMethods["SetOriginClientCertificateHostnames"] = "POST"
	sdkMethods["GetOriginClientCertificateHostnames"] = "GET"
	sdkQueryParams["UploadOriginCaCertificate"] = map[string]bool{}
	sdkQueryParams["UploadOriginClientCertificate"] = map[string]bool{"SiteId": true}
	sdkQueryParams["SetOriginClientCertificateHostnames"] = map[string]bool{}
}

// TestGoClientsManageOrigins runs the origin scenario with every Go client.
func TestGoClientsManageOrigins(t *testing.T) {
	addr, key := startNode(t)
	for _, k := range goKinds {
		t.Run(k.name, func(t *testing.T) {
			runOriginScenario(t, k.make(t, addr, key, false), strings.ReplaceAll(k.name, "_", "-"))
		})
	}
}

// TestNodeClientsManageOrigins runs the origin scenario with the official
// Node.js ESA SDK's typed methods (@alicloud/esa20240910, both signatures:
// each answer parsed into the SDK's models, so a field the models lack or
// mistype is lost or fails) and pop-core.
func TestNodeClientsManageOrigins(t *testing.T) {
	d := startDriver(t)
	addr, key := startNode(t)
	for _, k := range nodeKinds(d) {
		t.Run(k.name, func(t *testing.T) {
			runOriginScenario(t, k.make(t, addr, key, false), strings.ReplaceAll(k.name, "_", "-"))
		})
	}
}

// runOriginScenario calls every action of origin rules, origin CA
// certificates and origin client certificates with one client, and one
// client mistake of each family, on a new site.
func runOriginScenario(t *testing.T, c caller, prefix string) {
	site := prefix + "-origins.com"
	siteID := str(mustOK(t, c, "CreateSite", map[string]string{"SiteName": site, "AccessType": "NS", "Coverage": "overseas",
		"InstanceId": "esa-default-basic"})["SiteId"])
	t.Run("rules", func(t *testing.T) { runOriginRules(t, c, site, siteID) })
	t.Run("ca", func(t *testing.T) { runOriginCAs(t, c, site, siteID) })
	t.Run("client", func(t *testing.T) { runOriginClients(t, c, site, siteID) })
}

func runOriginRules(t *testing.T, c caller, site, siteID string) {
	rule := `(http.host eq "api.` + site + `")`
	configID := str(mustOK(t, c, "CreateOriginRule", map[string]string{"SiteId": siteID, "RuleName": "api", "Rule": rule,
		"RuleEnable": "on", "Sequence": "2", "OriginScheme": "https", "OriginHttpsPort": "8443", "OriginSni": "backend." + site,
		"OriginHost": "backend." + site, "OriginVerify": "off", "OriginReadTimeout": "30"})["ConfigId"])
	if configID == "" || configID == "0" {
		t.Fatalf("CreateOriginRule answered no ConfigId")
	}
	ids := map[string]string{"SiteId": siteID, "ConfigId": configID}
	checkFields(t, "GetOriginRule", mustOK(t, c, "GetOriginRule", ids), map[string]string{"ConfigId": configID,
		"ConfigType": "rule", "Rule": rule, "RuleName": "api", "RuleEnable": "on", "Sequence": "2", "SiteVersion": "0",
		"OriginScheme": "https", "OriginHttpsPort": "8443", "OriginSni": "backend." + site, "OriginHost": "backend." + site,
		"OriginVerify": "off", "OriginReadTimeout": "30"})
	global := str(mustOK(t, c, "CreateOriginRule", map[string]string{"SiteId": siteID, "OriginScheme": "follow"})["ConfigId"])

	mustOK(t, c, "UpdateOriginRule", map[string]string{"SiteId": siteID, "ConfigId": configID, "OriginScheme": "http",
		"OriginHttpPort": "8080", "RuleEnable": "off"})
	checkFields(t, "GetOriginRule after update", mustOK(t, c, "GetOriginRule", ids), map[string]string{
		"OriginScheme": "http", "OriginHttpPort": "8080", "RuleEnable": "off", "OriginHttpsPort": "8443", "Rule": rule})

	list := mustOK(t, c, "ListOriginRules", map[string]string{"SiteId": siteID, "PageSize": "10", "PageNumber": "1"})
	checkFields(t, "ListOriginRules", list, map[string]string{"TotalCount": "2", "PageSize": "10", "PageNumber": "1"})
	if got := httpsConfigIDs(t, list); !strings.Contains(strings.Join(got, ","), configID) || !strings.Contains(strings.Join(got, ","), global) {
		t.Errorf("ListOriginRules lists %v, want %s and %s", got, configID, global)
	}
	rules := mustOK(t, c, "ListOriginRules", map[string]string{"SiteId": siteID, "ConfigType": "rule"})
	checkFields(t, "ListOriginRules ConfigType=rule", rules, map[string]string{"TotalCount": "1", "Configs.0.ConfigId": configID,
		"Configs.0.OriginHttpPort": "8080"})

	mustFail(t, c, "CreateOriginRule", map[string]string{"SiteId": siteID, "Rule": rule, "OriginScheme": "ftp"}, 400, "InvalidParameter")
	mustFail(t, c, "UpdateOriginRule", map[string]string{"SiteId": siteID, "ConfigId": configID, "OriginHttpsPort": "70000"}, 400, "InvalidParameter")
	mustOK(t, c, "DeleteOriginRule", ids)
	mustFail(t, c, "GetOriginRule", ids, 404, "Config.NotFound")
	mustFail(t, c, "DeleteOriginRule", ids, 404, "Config.NotFound")
	mustOK(t, c, "DeleteOriginRule", map[string]string{"SiteId": siteID, "ConfigId": global})
}

func runOriginCAs(t *testing.T, c caller, site, siteID string) {
	now := time.Now()
	ca := pkitest.NewCA(t, "Origin Root "+site, now.Add(-time.Hour), now.Add(365*24*time.Hour))
	up := mustOK(t, c, "UploadOriginCaCertificate", map[string]string{"SiteId": siteID, "Name": "origin-root", "Certificate": ca.CertPEM})
	id := str(up["Id"])
	checkFields(t, "UploadOriginCaCertificate", up, map[string]string{"CommonName": "Origin Root " + site, "Status": "OK",
		"FingerprintSha256": fingerprint(ca.Cert.Raw), "SignatureAlgorithm": "ECDSA-SHA256", "ValidityDays": "364"})
	for _, f := range []string{"Id", "Issuer", "SerialNumber", "NotBefore", "NotAfter"} {
		if str(up[f]) == "" {
			t.Errorf("UploadOriginCaCertificate answered no %s: %v", f, up)
		}
	}
	ids := map[string]string{"SiteId": siteID, "Id": id}
	checkFields(t, "GetOriginCaCertificate", mustOK(t, c, "GetOriginCaCertificate", ids), map[string]string{
		"Certificate": ca.CertPEM, "SiteId": siteID, "SiteName": site, "Status": "OK", "Result.Id": id,
		"Result.Name": "origin-root", "Result.Type": "upload", "Result.Status": "OK", "Result.PubkeyAlgorithm": "ECDSA",
		"Result.CommonName": "Origin Root " + site, "Result.FingerprintSha256": fingerprint(ca.Cert.Raw)})
	list := mustOK(t, c, "ListOriginCaCertificates", map[string]string{"SiteId": siteID, "PageNumber": "1", "PageSize": "20"})
	checkFields(t, "ListOriginCaCertificates", list, map[string]string{"TotalCount": "1", "PageNumber": "1", "PageSize": "20",
		"SiteId": siteID, "SiteName": site, "Result.0.Id": id, "Result.0.Name": "origin-root", "Result.0.Type": "upload"})

	mustFail(t, c, "UploadOriginCaCertificate", map[string]string{"SiteId": siteID, "Name": "origin-root", "Certificate": ca.CertPEM}, 400, "Certificate.Duplicated")
	mustFail(t, c, "UploadOriginCaCertificate", map[string]string{"SiteId": siteID, "Certificate": "not a certificate"}, 400, "InvalidSSLPub")
	checkFields(t, "DeleteOriginCaCertificate", mustOK(t, c, "DeleteOriginCaCertificate", ids),
		map[string]string{"Id": id, "SiteId": siteID, "SiteName": site})
	mustFail(t, c, "GetOriginCaCertificate", ids, 404, "Certificate.NotFound")
	mustFail(t, c, "DeleteOriginCaCertificate", ids, 404, "Certificate.NotFound")
	checkFields(t, "ListOriginCaCertificates after delete", mustOK(t, c, "ListOriginCaCertificates", map[string]string{"SiteId": siteID}),
		map[string]string{"TotalCount": "0"})
}

func runOriginClients(t *testing.T, c caller, site, siteID string) {
	now := time.Now()
	ca := pkitest.NewCA(t, "Origin Client CA "+site, now.Add(-time.Hour), now.Add(365*24*time.Hour))
	leaf := ca.Leaf(t, pkitest.LeafOptions{CommonName: "edge." + site, DNSNames: []string{"edge." + site}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour)})
	other := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"other." + site}})
	up := mustOK(t, c, "UploadOriginClientCertificate", map[string]string{"SiteId": siteID, "Name": "edge-client",
		"Certificate": leaf.ChainPEM, "PrivateKey": leaf.KeyPEM})
	id := str(up["Id"])
	checkFields(t, "UploadOriginClientCertificate", up, map[string]string{"CommonName": "edge." + site, "Status": "OK",
		"FingerprintSha256": fingerprint(leaf.Cert.Raw), "ValidityDays": "29"})
	ids := map[string]string{"SiteId": siteID, "Id": id}
	got := mustOK(t, c, "GetOriginClientCertificate", ids)
	checkFields(t, "GetOriginClientCertificate", got, map[string]string{"Certificate": leaf.ChainPEM, "SiteId": siteID,
		"SiteName": site, "Status": "OK", "Result.Id": id, "Result.Name": "edge-client", "Result.SAN": "edge." + site,
		"Result.Type": "upload"})
	if raw, _ := json.Marshal(dig(got, "Result.Hostnames")); string(raw) != "[]" {
		t.Errorf("GetOriginClientCertificate Result.Hostnames = %s, want []", raw)
	}
	if strings.Contains(strings.ToUpper(str(got)), "PRIVATE KEY") {
		t.Error("GetOriginClientCertificate answers the private key")
	}

	set := mustOK(t, c, "SetOriginClientCertificateHostnames", map[string]string{"SiteId": siteID, "Id": id,
		"Hostnames": `["www.` + site + `","API.` + site + `."]`})
	want := `["www.` + site + `","api.` + site + `"]`
	checkFields(t, "SetOriginClientCertificateHostnames", set, map[string]string{"Id": id, "SiteId": siteID, "SiteName": site})
	for what, answer := range map[string]map[string]any{
		"SetOriginClientCertificateHostnames": set,
		"GetOriginClientCertificateHostnames": mustOK(t, c, "GetOriginClientCertificateHostnames", ids),
	} {
		if raw, _ := json.Marshal(answer["Hostnames"]); string(raw) != want {
			t.Errorf("%s Hostnames = %s, want %s", what, raw, want)
		}
	}
	list := mustOK(t, c, "ListOriginClientCertificates", map[string]string{"SiteId": siteID, "PageNumber": "1", "PageSize": "5"})
	checkFields(t, "ListOriginClientCertificates", list, map[string]string{"TotalCount": "1", "PageSize": "5", "Result.0.Id": id,
		"Result.0.Name": "edge-client"})
	if raw, _ := json.Marshal(dig(list, "Result.0.Hostnames")); string(raw) != want {
		t.Errorf("ListOriginClientCertificates Result.0.Hostnames = %s, want %s", raw, want)
	}

	mustFail(t, c, "UploadOriginClientCertificate", map[string]string{"SiteId": siteID, "Certificate": leaf.ChainPEM,
		"PrivateKey": other.KeyPEM}, 400, "CertificateNotMatchPrivateKey")
	mustFail(t, c, "SetOriginClientCertificateHostnames", map[string]string{"SiteId": siteID, "Id": id,
		"Hostnames": `["www.example.net"]`}, 400, "InvalidParameter")
	checkFields(t, "DeleteOriginClientCertificate", mustOK(t, c, "DeleteOriginClientCertificate", ids),
		map[string]string{"Id": id, "SiteId": siteID, "SiteName": site})
	for _, action := range []string{"GetOriginClientCertificate", "GetOriginClientCertificateHostnames", "DeleteOriginClientCertificate"} {
		mustFail(t, c, action, ids, 404, "Certificate.NotFound")
	}
	mustFail(t, c, "SetOriginClientCertificateHostnames", map[string]string{"SiteId": siteID, "Id": id, "Hostnames": "[]"}, 404, "Certificate.NotFound")
}
