package api

import (
	"net/http"
	"net/url"
	"testing"
)

// The vectors below are the published ones (esa-api.md §3.2 and §3.5): the
// official documentation's and the SDKs' own unit vectors.

func TestACS3DocumentationVector(t *testing.T) {
	h := http.Header{}
	h.Set("x-acs-action", "RunInstances")
	h.Set("x-acs-version", "2014-05-26")
	h.Set("x-acs-date", "2023-10-26T10:22:32Z")
	h.Set("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d")
	h.Set("x-acs-content-sha256", emptySHA256)
	r := acs3Request{
		Method: "POST",
		Path:   "/",
		Query: url.Values{
			"ImageId":  {"win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd"},
			"RegionId": {"cn-shanghai"},
		},
		Header:        h,
		Host:          "ecs.cn-shanghai.aliyuncs.com",
		SignedHeaders: []string{"host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce", "x-acs-version"},
		PayloadHash:   emptySHA256,
	}
	wantCanonical := "POST\n/\nImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai\n" +
		"host:ecs.cn-shanghai.aliyuncs.com\nx-acs-action:RunInstances\nx-acs-content-sha256:" + emptySHA256 + "\n" +
		"x-acs-date:2023-10-26T10:22:32Z\nx-acs-signature-nonce:3156853299f313e23d1673dc12e1703d\nx-acs-version:2014-05-26\n\n" +
		"host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version\n" + emptySHA256
	if got := r.canonicalRequest(); got != wantCanonical {
		t.Errorf("canonical request:\n%q\nwant\n%q", got, wantCanonical)
	}
	const wantSTS = "ACS3-HMAC-SHA256\n7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
	if got := r.stringToSign(); got != wantSTS {
		t.Errorf("string to sign = %q, want %q", got, wantSTS)
	}
	const wantSig = "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
	if got := acs3Signature("YourAccessKeySecret", wantSTS); got != wantSig {
		t.Errorf("signature = %s, want %s", got, wantSig)
	}
}

func TestACS3SDKVector(t *testing.T) {
	// darabonba-openapi utils Test_GetAuthorization: an empty method and
	// path, an empty query value, and one header sent twice in two cases.
	h := http.Header{}
	h["x-acs-test"] = []string{"http"}
	h["x-acs-TEST"] = []string{"https"}
	merged := http.Header{"X-Acs-Test": {"http", "https"}}
	r := acs3Request{
		Method:        "",
		Path:          "",
		Query:         url.Values{"test": {"ok"}, "empty": {""}},
		Header:        merged,
		SignedHeaders: []string{"x-acs-test"},
		PayloadHash:   "55e12e91650d2fec56ec74e1d3e4ddbfce2ef3a65890c2a19ecf88a307e76a23",
	}
	want := "\n/\nempty=&test=ok\nx-acs-test:http,https\n\nx-acs-test\n55e12e91650d2fec56ec74e1d3e4ddbfce2ef3a65890c2a19ecf88a307e76a23"
	if got := r.canonicalRequest(); got != want {
		t.Errorf("canonical request = %q, want %q", got, want)
	}
	const wantSig = "4ab59fffe3c5738ff8a2729f90cc04fe18b02a4b15b2102cbaf92f9ff3df2ea3"
	if got := acs3Signature("secret", r.stringToSign()); got != wantSig {
		t.Errorf("signature = %s, want %s", got, wantSig)
	}
}

func TestRPCDocumentationVector(t *testing.T) {
	params := url.Values{
		"AccessKeyId":      {"testid"},
		"Action":           {"DescribeDedicatedHosts"},
		"Format":           {"JSON"},
		"RegionId":         {"cn-beijing"},
		"SignatureMethod":  {"HMAC-SHA1"},
		"SignatureNonce":   {"edb2b34af0af9a6d14deaf7c1a5315eb"},
		"SignatureVersion": {"1.0"},
		"Timestamp":        {"2023-03-13T08:34:30Z"},
		"Version":          {"2014-05-26"},
	}
	const wantCanonical = "AccessKeyId=testid&Action=DescribeDedicatedHosts&Format=JSON&RegionId=cn-beijing&SignatureMethod=HMAC-SHA1&SignatureNonce=edb2b34af0af9a6d14deaf7c1a5315eb&SignatureVersion=1.0&Timestamp=2023-03-13T08%3A34%3A30Z&Version=2014-05-26"
	if got := canonicalQuery(params); got != wantCanonical {
		t.Errorf("canonical query = %q, want %q", got, wantCanonical)
	}
	const wantSTS = "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeDedicatedHosts%26Format%3DJSON%26RegionId%3Dcn-beijing%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3Dedb2b34af0af9a6d14deaf7c1a5315eb%26SignatureVersion%3D1.0%26Timestamp%3D2023-03-13T08%253A34%253A30Z%26Version%3D2014-05-26"
	sts := rpcStringToSign("GET", params)
	if sts != wantSTS {
		t.Errorf("string to sign = %q, want %q", sts, wantSTS)
	}
	if got, want := rpcSignature("testsecret", sts), "9NaGiOspFP5UPcwX8Iwt2YJXXuk="; got != want {
		t.Errorf("signature = %s, want %s", got, want)
	}
}

func TestRPCSDKVector(t *testing.T) {
	sts := rpcStringToSign("", url.Values{"test": {"ok"}})
	if sts != "&%2F&test%3Dok" {
		t.Errorf("string to sign = %q", sts)
	}
	if got, want := rpcSignature("accessKeySecret", sts), "jHx/oHoHNrbVfhncHEvPdHXZwHU="; got != want {
		t.Errorf("signature = %s, want %s", got, want)
	}
}

func TestPopEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a b", "a%20b"},
		{"*", "%2A"},
		{"~", "~"},
		{"-_.", "-_."},
		{"a+b/c=", "a%2Bb%2Fc%3D"},
		{"中", "%E4%B8%AD"},
		{"\n", "%0A"},
	}
	for _, tt := range tests {
		if got := popEscape(tt.in); got != tt.want {
			t.Errorf("popEscape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseAuthorization(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"ok", "ACS3-HMAC-SHA256 Credential=ak,SignedHeaders=host;x-acs-date,Signature=abcd", true},
		{"ok/spaces_after_commas", "ACS3-HMAC-SHA256 Credential=ak, SignedHeaders=host, Signature=abcd", true},
		{"fail/other_algorithm", "ACS3-HMAC-SM3 Credential=ak,SignedHeaders=host,Signature=abcd", false},
		{"fail/no_signature", "ACS3-HMAC-SHA256 Credential=ak,SignedHeaders=host", false},
		{"fail/no_headers", "ACS3-HMAC-SHA256 Credential=ak,SignedHeaders=,Signature=ab", false},
		{"fail/garbage", "ACS3-HMAC-SHA256 what", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := parseAuthorization(tt.in); ok != tt.ok {
				t.Errorf("parseAuthorization(%q) ok = %v, want %v", tt.in, ok, tt.ok)
			}
		})
	}
}
