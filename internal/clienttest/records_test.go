package clienttest

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

func init() {
	// The official SDK's methods of the record actions (esa-more-api.md §2).
	for action, method := range map[string]string{"CreateRecord": "POST", "GetRecord": "GET", "ListRecords": "GET",
		"UpdateRecord": "POST", "DeleteRecord": "POST"} {
		sdkMethods[action] = method
	}
}

// tfRecordData is Data as the Terraform provider sends it: every integer
// field, 0 when unset, keys sorted (esa-more-api.md §2.1).
func tfRecordData(value string, priority int) string {
	return fmt.Sprintf(`{"Algorithm":0,"Flag":0,"KeyTag":0,"MatchingType":0,"Port":0,"Priority":%d,"Selector":0,"Type":0,"Usage":0,"Value":%q,"Weight":0}`,
		priority, value)
}

// noSecrets fails when an answer shows any of the secrets in clear.
func noSecrets(t *testing.T, what string, body map[string]any, secrets ...string) {
	t.Helper()
	text := fmt.Sprint(body)
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("%s shows an AuthConf secret in clear", what)
		}
	}
}

// recordNames returns the RecordName of every record of a ListRecords answer.
func recordNames(body map[string]any) []string {
	var names []string
	list, _ := body["Records"].([]any)
	for _, r := range list {
		names = append(names, str(dig(r, "RecordName")))
	}
	return names
}

// runRecordScenario manages DNS records of a site from start to end with
// one client: creates of every common kind (a Terraform-shaped one too),
// reads with PascalCase Data objects, lists with filters and pages,
// updates as Terraform sends them, conflicts, deletion and 404s.
func runRecordScenario(t *testing.T, c caller, prefix string) {
	site := "rec-" + prefix + ".com"
	siteID := str(mustOK(t, c, "CreateSite", map[string]string{"SiteName": site})["SiteId"])
	ak, sk := "LTAI5t"+prefix+"AccessKey", "SecretKeyOf-"+prefix+"-0123456789abcdef"
	create := func(p map[string]string) string {
		t.Helper()
		p["SiteId"] = siteID
		id := str(mustOK(t, c, "CreateRecord", p)["RecordId"])
		if len(id) != 13 {
			t.Fatalf("CreateRecord RecordId = %q, want 13 digits", id)
		}
		return id
	}
	www := create(map[string]string{"RecordName": "www." + site, "Type": "A/AAAA", "Proxied": "true", "BizName": "web",
		"Ttl": "600", "Comment": "front door", "Data": `{"Value":"192.0.2.10,2001:db8::10"}`})
	static := create(map[string]string{"RecordName": "static." + site, "Type": "CNAME", "Proxied": "true",
		"BizName": "image_video", "SourceType": "OSS", "HostPolicy": "follow_origin_domain",
		"Data":     `{"Value":"bucket.oss-cn-hangzhou.aliyuncs.com"}`,
		"AuthConf": fmt.Sprintf(`{"AuthType":"private_cross_account","AccessKey":%q,"SecretKey":%q}`, ak, sk)})
	txt := create(map[string]string{"RecordName": "_dmarc." + site, "Type": "TXT", "Ttl": "300",
		"Data": `{"value":"v=DMARC1; p=none"}`})
	mx := create(map[string]string{"RecordName": site, "Type": "MX", "Ttl": "3600",
		"Data": `{"Value":"mail.` + site + `","Priority":10}`})
	// Terraform: every int 0, no Ttl.
	tf := create(map[string]string{"RecordName": "tf." + site, "Type": "A/AAAA", "Proxied": "false",
		"Data": tfRecordData("192.0.2.30", 0)})

	got := mustOK(t, c, "GetRecord", map[string]string{"RecordId": www})
	checkFields(t, "GetRecord A/AAAA", got, map[string]string{"RecordModel.RecordId": www, "RecordModel.RecordName": "www." + site,
		"RecordModel.RecordType": "A/AAAA", "RecordModel.Proxied": "true", "RecordModel.BizName": "web", "RecordModel.Ttl": "600",
		"RecordModel.Comment": "front door", "RecordModel.Data.Value": "192.0.2.10,2001:db8::10", "RecordModel.SiteId": siteID,
		"RecordModel.SiteName": site, "RecordModel.RecordSourceType": ""})
	data, ok := dig(got, "RecordModel.Data").(map[string]any)
	if !ok || len(data) != 1 {
		t.Errorf("GetRecord Data = %#v, want an object holding Value only", dig(got, "RecordModel.Data"))
	}
	if _, ok := dig(got, "RecordModel").(map[string]any)["AuthConf"]; ok {
		t.Errorf("GetRecord of a record without AuthConf has one: %v", got)
	}
	if _, err := time.Parse("2006-01-02T15:04:05Z", str(dig(got, "RecordModel.CreateTime"))); err != nil {
		t.Errorf("GetRecord CreateTime: %v", err)
	}

	cn := mustOK(t, c, "GetRecord", map[string]string{"RecordId": static})
	checkFields(t, "GetRecord CNAME", cn, map[string]string{"RecordModel.RecordType": "CNAME", "RecordModel.RecordSourceType": "OSS",
		"RecordModel.HostPolicy": "follow_origin_domain", "RecordModel.BizName": "image_video",
		"RecordModel.Data.Value": "bucket.oss-cn-hangzhou.aliyuncs.com", "RecordModel.AuthConf.AuthType": "private_cross_account",
		"RecordModel.AuthConf.AccessKey": ak[:4] + "****" + ak[len(ak)-4:], "RecordModel.AuthConf.SecretKey": sk[:4] + "****" + sk[len(sk)-4:]})
	if _, ok := dig(cn, "RecordModel.AuthConf").(map[string]any); !ok {
		t.Errorf("GetRecord AuthConf is %T, want a JSON object", dig(cn, "RecordModel.AuthConf"))
	}
	noSecrets(t, "GetRecord", cn, ak, sk)
	checkFields(t, "GetRecord TXT", mustOK(t, c, "GetRecord", map[string]string{"RecordId": txt}),
		map[string]string{"RecordModel.RecordName": "_dmarc." + site, "RecordModel.Data.Value": "v=DMARC1; p=none", "RecordModel.Ttl": "300"})
	checkFields(t, "GetRecord MX", mustOK(t, c, "GetRecord", map[string]string{"RecordId": mx}),
		map[string]string{"RecordModel.Data.Value": "mail." + site, "RecordModel.Data.Priority": "10"})
	tfGot := mustOK(t, c, "GetRecord", map[string]string{"RecordId": tf})
	checkFields(t, "GetRecord Terraform-shaped", tfGot, map[string]string{"RecordModel.Ttl": "1", "RecordModel.Proxied": "false",
		"RecordModel.Data.Value": "192.0.2.30"})
	if d, _ := dig(tfGot, "RecordModel.Data").(map[string]any); len(d) != 1 {
		t.Errorf("Terraform-shaped record's Data = %v, want Value only", d)
	}

	lists := []struct {
		params map[string]string
		want   []string
	}{
		{map[string]string{}, []string{"_dmarc." + site, site, "static." + site, "tf." + site, "www." + site}},
		{map[string]string{"Type": "CNAME"}, []string{"static." + site}},
		{map[string]string{"Type": "A/AAAA", "Proxied": "true"}, []string{"www." + site}},
		{map[string]string{"RecordName": "WWW.", "RecordMatchType": "prefix"}, []string{"www." + site}},
		{map[string]string{"RecordName": "www." + site}, []string{"www." + site}},
		{map[string]string{"RecordName": "dmarc", "RecordMatchType": "FUZZY"}, []string{"_dmarc." + site}},
		{map[string]string{"RecordName": "ic." + site, "RecordMatchType": "suffix"}, []string{"static." + site}},
		{map[string]string{"SourceType": "oss"}, []string{"static." + site}},
		{map[string]string{"BizName": "web"}, []string{"www." + site}},
		{map[string]string{"Proxied": "false"}, []string{"_dmarc." + site, site, "tf." + site}},
	}
	for _, l := range lists {
		p := map[string]string{"SiteId": siteID}
		for k, v := range l.params {
			p[k] = v
		}
		res := mustOK(t, c, "ListRecords", p)
		if fmt.Sprint(recordNames(res)) != fmt.Sprint(l.want) || str(res["TotalCount"]) != fmt.Sprint(len(l.want)) {
			t.Errorf("ListRecords %v = %v (TotalCount %v), want %v", l.params, recordNames(res), res["TotalCount"], l.want)
		}
		if _, ok := res["TotalPage"]; ok {
			t.Errorf("ListRecords answers TotalPage")
		}
		noSecrets(t, "ListRecords", res, ak, sk)
	}
	page := mustOK(t, c, "ListRecords", map[string]string{"SiteId": siteID, "PageSize": "2", "PageNumber": "3"})
	checkFields(t, "ListRecords page 3 of 2", page, map[string]string{"TotalCount": "5", "PageNumber": "3", "PageSize": "2",
		"Records.0.RecordName": "www." + site})
	if str(mustOK(t, c, "ListRecords", map[string]string{"SiteId": siteID})["PageSize"]) != "500" {
		t.Errorf("ListRecords default PageSize is not 500")
	}
	mustFail(t, c, "ListRecords", map[string]string{"SiteId": siteID, "PageSize": "501"}, 400, "InvalidParameter")
	mustFail(t, c, "ListRecords", map[string]string{"SiteId": siteID, "RecordMatchType": "regex", "RecordName": "x"}, 400, "InvalidParameter")

	// Conflicts and refusals.
	mustFail(t, c, "CreateRecord", map[string]string{"SiteId": siteID, "RecordName": "www." + site, "Type": "A/AAAA",
		"Proxied": "true", "BizName": "web", "Data": `{"Value":"192.0.2.10,2001:db8::10"}`}, 400, "Record.RecordNameConflictWithSameRecordType")
	mustFail(t, c, "CreateRecord", map[string]string{"SiteId": siteID, "RecordName": "www." + site, "Type": "CNAME",
		"Data": `{"Value":"origin.example.net"}`}, 400, "Record.RecordNameConflictForSpecifiedRecordType")
	mustFail(t, c, "CreateRecord", map[string]string{"SiteId": siteID, "RecordName": "www.elsewhere.org", "Type": "TXT",
		"Data": `{"Value":"x"}`}, 400, "InvalidParameter")
	mustFail(t, c, "CreateRecord", map[string]string{"SiteId": siteID, "RecordName": "t." + site, "Type": "TXT", "Proxied": "true",
		"BizName": "web", "Data": `{"Value":"x"}`}, 400, "InvalidParameter")
	mustFail(t, c, "CreateRecord", map[string]string{"SiteId": "1234567890123", "RecordName": "www." + site, "Type": "TXT",
		"Data": `{"Value":"x"}`}, 400, "InvalidParameter.SiteId")

	// Update as Terraform does: the full Data again, zero ints and all.
	mustOK(t, c, "UpdateRecord", map[string]string{"RecordId": mx, "Data": tfRecordData("mail2."+site, 20), "Ttl": "300", "Comment": "moved"})
	checkFields(t, "GetRecord MX after update", mustOK(t, c, "GetRecord", map[string]string{"RecordId": mx}),
		map[string]string{"RecordModel.Data.Value": "mail2." + site, "RecordModel.Data.Priority": "20", "RecordModel.Ttl": "300",
			"RecordModel.Comment": "moved", "RecordModel.RecordType": "MX", "RecordModel.RecordName": site})
	mustOK(t, c, "UpdateRecord", map[string]string{"RecordId": www, "Data": tfRecordData("192.0.2.11:8080", 0), "Proxied": "true"})
	checkFields(t, "GetRecord A/AAAA after update", mustOK(t, c, "GetRecord", map[string]string{"RecordId": www}),
		map[string]string{"RecordModel.Data.Value": "192.0.2.11:8080", "RecordModel.Ttl": "600", "RecordModel.BizName": "web"})
	mustFail(t, c, "UpdateRecord", map[string]string{"RecordId": txt, "Data": `{"Value":"x","Priority":5}`}, 400, "InvalidParameter")
	// The masks sent back keep the secrets; a new secret shows its own mask.
	before := mustOK(t, c, "GetRecord", map[string]string{"RecordId": static})
	mustOK(t, c, "UpdateRecord", map[string]string{"RecordId": static, "Comment": "same keys", "AuthConf": fmt.Sprintf(
		`{"AuthType":"private_cross_account","AccessKey":%q,"SecretKey":%q}`,
		str(dig(before, "RecordModel.AuthConf.AccessKey")), str(dig(before, "RecordModel.AuthConf.SecretKey")))})
	after := mustOK(t, c, "GetRecord", map[string]string{"RecordId": static})
	checkFields(t, "GetRecord CNAME after update", after, map[string]string{"RecordModel.Comment": "same keys",
		"RecordModel.AuthConf.SecretKey": str(dig(before, "RecordModel.AuthConf.SecretKey"))})
	sk2 := "AnotherSecretKey-" + prefix + "-zyxw"
	mustOK(t, c, "UpdateRecord", map[string]string{"RecordId": static, "AuthConf": fmt.Sprintf(
		`{"AuthType":"private_cross_account","AccessKey":%q,"SecretKey":%q}`, ak, sk2)})
	rotated := mustOK(t, c, "GetRecord", map[string]string{"RecordId": static})
	checkFields(t, "GetRecord CNAME after a new secret", rotated, map[string]string{"RecordModel.AuthConf.SecretKey": sk2[:4] + "****" + sk2[len(sk2)-4:]})
	noSecrets(t, "GetRecord", rotated, ak, sk, sk2)

	// Delete, then the record is gone for every action.
	mustOK(t, c, "DeleteRecord", map[string]string{"RecordId": www})
	mustFail(t, c, "GetRecord", map[string]string{"RecordId": www}, 404, "Record.NotFound")
	mustFail(t, c, "DeleteRecord", map[string]string{"RecordId": www}, 404, "Record.NotFound")
	mustFail(t, c, "UpdateRecord", map[string]string{"RecordId": www, "Data": `{"Value":"192.0.2.1"}`}, 404, "Record.NotFound")
	mustFail(t, c, "GetRecord", map[string]string{}, 400, "MissingParameter")
	if n := str(mustOK(t, c, "ListRecords", map[string]string{"SiteId": siteID})["TotalCount"]); n != "4" {
		t.Errorf("ListRecords after a delete: TotalCount %s, want 4", n)
	}
	// A batch: each record on its own, the answer saying which failed and why.
	batch := mustOK(t, c, "BatchCreateRecords", map[string]string{"SiteId": siteID, "RecordList": `[
		{"RecordName": "b1.` + site + `", "Type": "TXT", "Proxied": false, "Ttl": 60, "Data": {"Value": "one"}},
		{"RecordName": "b2.` + site + `", "Type": "A/AAAA", "Proxied": true, "BizName": "api", "Data": {"Value": "192.0.2.20"}},
		{"RecordName": "b3.elsewhere.org", "Type": "TXT", "Proxied": false, "Data": {"Value": "three"}}]`})
	if n := str(dig(batch, "RecordResultList.TotalCount")); n != "3" {
		t.Errorf("BatchCreateRecords TotalCount = %s, want 3", n)
	}
	succeeded, _ := dig(batch, "RecordResultList.Success").([]any)
	failed, _ := dig(batch, "RecordResultList.Failed").([]any)
	if len(succeeded) != 2 || len(failed) != 1 || str(dig(failed[0], "RecordName")) != "b3.elsewhere.org" ||
		!strings.Contains(str(dig(failed[0], "Description")), "RecordName") {
		t.Fatalf("BatchCreateRecords answered %v", batch)
	}
	b2 := str(dig(succeeded[1], "RecordId"))
	if got := mustOK(t, c, "GetRecord", map[string]string{"RecordId": b2}); str(dig(got, "RecordModel.Data.Value")) != "192.0.2.20" ||
		str(dig(got, "RecordModel.BizName")) != "api" {
		t.Errorf("GetRecord of a batch record = %v", got)
	}

	// Deleting the site deletes its records.
	mustOK(t, c, "DeleteSite", map[string]string{"SiteId": siteID})
	mustFail(t, c, "GetRecord", map[string]string{"RecordId": static}, 404, "Record.NotFound")
}

// TestGoClientsManageRecords runs the record scenario with every Go client.
func TestGoClientsManageRecords(t *testing.T) {
	addr, key := startNode(t)
	for _, k := range goKinds {
		t.Run(k.name, func(t *testing.T) {
			runRecordScenario(t, k.make(t, addr, key, false), strings.ReplaceAll(k.name, "_", "-"))
		})
	}
}

// TestTerraformRecordLifecycle replays alicloud_esa_record's create, read,
// update, delete and refresh (esa-more-api.md §2.8): the answers Terraform
// reads must give back what the configuration says, and Data and AuthConf
// must be JSON objects (the provider type-asserts them).
func TestTerraformRecordLifecycle(t *testing.T) {
	addr, key := startNode(t)
	tf := tfClient{addr, key}
	siteID := str(tf.do(t, "POST", "CreateSite", map[string]string{"SiteName": "tf-records.com"}).body["SiteId"])
	created := tf.do(t, "POST", "CreateRecord", map[string]string{"SiteId": siteID, "RecordName": "www.tf-records.com",
		"Type": "CNAME", "Proxied": "true", "BizName": "web", "SourceType": "S3", "Ttl": "60",
		"Data":     tfRecordData("bucket.s3.amazonaws.com", 0),
		"AuthConf": `{"AccessKey":"AKIAIOSFODNN7EXAMPLE","AuthType":"private","Region":"us-east-1","SecretKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY","Version":"v4"}`})
	if created.status != 200 {
		t.Fatalf("create: %d %v", created.status, created.body)
	}
	id := str(created.body["RecordId"]) // d.SetId(fmt.Sprint(response["RecordId"]))
	read := func(want map[string]string) {
		t.Helper()
		got := tf.do(t, "GET", "GetRecord", map[string]string{"RecordId": id})
		if got.status != 200 {
			t.Fatalf("read: %d %v", got.status, got.body)
		}
		model, ok := got.body["RecordModel"].(map[string]any)
		if !ok {
			t.Fatalf("read: RecordModel is %T", got.body["RecordModel"])
		}
		if _, ok := model["Data"].(map[string]any); !ok {
			t.Fatalf("read: Data is %T, the provider would panic", model["Data"])
		}
		if a, ok := model["AuthConf"]; ok {
			if _, ok := a.(map[string]any); !ok {
				t.Fatalf("read: AuthConf is %T, the provider would panic", a)
			}
		}
		state := map[string]string{"site_id": str(model["SiteId"]), "record_name": str(model["RecordName"]),
			"record_type": str(model["RecordType"]), "source_type": str(model["RecordSourceType"]),
			"biz_name": str(model["BizName"]), "proxied": str(model["Proxied"]), "ttl": str(model["Ttl"]),
			"data.value": str(dig(model, "Data.Value")), "data.priority": str(dig(model, "Data.Priority")),
			"auth_conf.auth_type": str(dig(model, "AuthConf.AuthType")), "auth_conf.region": str(dig(model, "AuthConf.Region")),
			"auth_conf.version": str(dig(model, "AuthConf.Version")), "comment": str(model["Comment"])}
		for k, w := range want {
			if state[k] != w {
				t.Errorf("read: %s = %q, want %q (terraform plan would show a diff)", k, state[k], w)
			}
		}
		if strings.Contains(fmt.Sprint(model), "wJalrXUtnFEMI") {
			t.Errorf("read: the secret key is in clear")
		}
	}
	want := map[string]string{"site_id": siteID, "record_name": "www.tf-records.com", "record_type": "CNAME", "source_type": "S3",
		"biz_name": "web", "proxied": "true", "ttl": "60", "data.value": "bucket.s3.amazonaws.com", "data.priority": "",
		"auth_conf.auth_type": "private", "auth_conf.region": "us-east-1", "auth_conf.version": "v4", "comment": ""}
	read(want)

	// Update: the full Data, plus what changed; never Type.
	up := tf.do(t, "POST", "UpdateRecord", map[string]string{"RecordId": id, "Data": tfRecordData("other.s3.amazonaws.com", 0),
		"Comment": "moved", "Ttl": "120"})
	if up.status != 200 {
		t.Fatalf("update: %d %v", up.status, up.body)
	}
	want["data.value"], want["comment"], want["ttl"] = "other.s3.amazonaws.com", "moved", "120"
	read(want)

	// Delete; a refresh finds it gone by HTTP 404, and a second delete counts as done.
	if del := tf.do(t, "POST", "DeleteRecord", map[string]string{"RecordId": id}); del.status != 200 {
		t.Fatalf("delete: %d %v", del.status, del.body)
	}
	for _, action := range []string{"GetRecord", "DeleteRecord"} {
		gone := tf.do(t, "GET", action, map[string]string{"RecordId": id})
		if gone.status != 404 || gone.body["Code"] != "Record.NotFound" {
			t.Errorf("%s after delete: %d %v, want 404 Record.NotFound", action, gone.status, gone.body)
		}
	}
}

// TestRecordSecretsNeverInPlain stores AuthConf secrets through the API,
// then reads every byte of the database files (with the write-ahead log),
// every answer and the log output: the secrets appear in none.
func TestRecordSecretsNeverInPlain(t *testing.T) {
	n, dataDir, logs := loggedNode(t)
	c := teaKind(false).make(t, n.APIAddr(), n.RootKey(), false)
	v2 := teaKind(true).make(t, n.APIAddr(), n.RootKey(), false) // signs everything, AuthConf included

	siteID := str(mustOK(t, c, "CreateSite", map[string]string{"SiteName": "secret-records.com"})["SiteId"])
	ak, sk := "AKIAQWERTYUIOPASDFGH", "Zx9Cv8Bn7Mm6Ll5Kk4Jj3Hh2Gg1Ff0DdSsAaQqWw"
	ak2, sk2 := "LTAI5tNewAccessKeyId0", "NewSecretKeyAfterRotation0123456789"
	id := str(mustOK(t, c, "CreateRecord", map[string]string{"SiteId": siteID, "RecordName": "s3.secret-records.com",
		"Type": "CNAME", "SourceType": "S3", "Data": `{"Value":"bucket-in-plain-sight.s3.amazonaws.com"}`,
		"AuthConf": fmt.Sprintf(`{"AuthType":"private","AccessKey":%q,"SecretKey":%q,"Region":"us-east-1"}`, ak, sk)})["RecordId"])
	mustOK(t, v2, "UpdateRecord", map[string]string{"RecordId": id,
		"AuthConf": fmt.Sprintf(`{"AuthType":"private","AccessKey":%q,"SecretKey":%q,"Region":"us-east-1"}`, ak2, sk2)})
	secrets := []string{ak, sk, ak2, sk2}
	noSecrets(t, "GetRecord", mustOK(t, c, "GetRecord", map[string]string{"RecordId": id}), secrets...)
	noSecrets(t, "ListRecords", mustOK(t, v2, "ListRecords", map[string]string{"SiteId": siteID}), secrets...)

	_, all := databaseFiles(t, dataDir)
	// Control: the record's value is stored in plain, so the scan reads the right files.
	if !bytes.Contains(all, []byte("bucket-in-plain-sight")) {
		t.Fatal("the database files do not hold the record: the scan reads the wrong files")
	}
	for _, s := range secrets {
		if bytes.Contains(all, []byte(s)) {
			t.Errorf("the database files hold an AuthConf key in plain")
		}
		if bytes.Contains(logs.Bytes(), []byte(s)) {
			t.Errorf("the log holds an AuthConf key")
		}
	}
}
