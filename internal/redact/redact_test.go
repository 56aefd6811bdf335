package redact

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestIsSecret(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"AuthConf", true},
		{"authconf", true},
		{"PrivateKey", true},
		{"privateKey", true},
		{"EncryptPrivateKey", true},
		{"SignPrivateKey", true},
		{"private_key", true},
		{"Key", true},
		{"SecretKey", true},
		{"AccessKey", true},
		{"AccessKeySecret", true},
		{"Password", true},
		{"DbPasswd", true},
		{"SecurityToken", true},
		{"x-acs-security-token", true},
		{"ClientSecret", true},
		{"AccessKeyId", false},
		{"SiteId", false},
		{"Certificate", false},
		{"Action", false},
		{"RecordList", false},
		{"Data", false},
		{"KeyType", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsSecret(tt.name); got != tt.want {
				t.Errorf("IsSecret(%q) = %v, want %v", tt.name, got, tt.want)
			}
		})
	}
}

func TestCarriesSecret(t *testing.T) {
	tests := []struct {
		name, param, value string
		want               bool
	}{
		{"ok/plain", "SiteName", "example.com", false},
		{"ok/json_without_secret", "Data", `{"Value":"192.0.2.1"}`, false},
		{"ok/not_json", "Comment", "{ a brace in a comment", false},
		{"ok/certificate", "Certificate", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", false},
		{"secret/name", "AuthConf", `{"AuthType":"public"}`, true},
		{"secret/empty_value_of_secret_name", "AuthConf", "", true},
		{"secret/pem_under_plain_name", "Cert", "-----BEGIN EC PRIVATE KEY-----\nabc", true},
		{"secret/nested_field", "RecordList", `[{"RecordName":"a","AuthConf":{"AuthType":"private"}}]`, true},
		{"secret/nested_empty_secret", "RecordList", `[{"Data":{"SecretKey":""}}]`, true},
		{"secret/json_in_string", "RecordList", `[{"Data":"{\"SecretKey\":\"s\"}"}]`, true},
		{"secret/undecodable_json", "RecordList", `[{"AuthConf": oops`, true},
		{"secret/undecodable_json_within", "RecordList", `[{"MySecretKey": oops`, true},
		{"ok/undecodable_json_without_secret", "Comment", `[draft] the key to success`, false},
		{"secret/trailing_json", "Data", `{"Value":"a"} {"SecretKey":"s"}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CarriesSecret(tt.param, tt.value); got != tt.want {
				t.Errorf("CarriesSecret(%q, %q) = %v, want %v", tt.param, tt.value, got, tt.want)
			}
		})
	}
}

func TestParam(t *testing.T) {
	tests := []struct {
		name, param, value, want string
	}{
		{"ok/plain_kept", "SiteName", "example.com", "example.com"},
		{"ok/json_kept_as_sent", "Data", `{ "Value": "192.0.2.1" }`, `{ "Value": "192.0.2.1" }`},
		{"ok/empty_secret_stays_empty", "PrivateKey", "", ""},
		{"mask/secret_name", "PrivateKey", "abc", Mask},
		{"mask/secret_name_any_case", "password", "hunter2", Mask},
		{"mask/pem_under_plain_name", "Comment", "-----BEGIN PRIVATE KEY-----\nabc", Mask},
		{"mask/authconf_fields", "AuthConf", `{"AuthType":"private","AccessKey":"ak","SecretKey":"sk","Region":"r"}`,
			`{"AccessKey":"****","AuthType":"private","Region":"r","SecretKey":"****"}`},
		{"mask/authconf_without_secrets_kept", "AuthConf", `{"AuthType":"public"}`, `{"AuthType":"public"}`},
		{"mask/authconf_empty_secret_kept", "AuthConf", `{"AuthType":"private","SecretKey":""}`, `{"AuthType":"private","SecretKey":""}`},
		{"mask/nested_in_list", "RecordList", `[{"RecordName":"a","AuthConf":{"SecretKey":"sk","AuthType":"private"}}]`,
			`[{"AuthConf":{"AuthType":"private","SecretKey":"****"},"RecordName":"a"}]`},
		{"mask/json_in_string", "RecordList", `[{"AuthConf":"{\"SecretKey\":\"sk\"}"}]`,
			`[{"AuthConf":"{\"SecretKey\":\"****\"}"}]`},
		{"mask/secret_number", "Data", `{"Password":1234}`, `{"Password":"****"}`},
		{"mask/secret_array", "Key", `["a","b"]`, `["****","****"]`},
		{"mask/pem_in_plain_field", "Data", `{"Value":"-----BEGIN RSA PRIVATE KEY-----"}`, `{"Value":"****"}`},
		{"mask/undecodable_json", "RecordList", `[{"SecretKey":"sk"`, Mask},
		{"ok/undecodable_json_without_secret", "Comment", "[draft] hello", "[draft] hello"},
		{"mask/undecodable_json_in_string", "Data", `{"Value":"{\"SecretKey\": oops"}`, `{"Value":"****"}`},
		{"mask/secret_string_not_json", "AuthConf", "sk", Mask},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Param(tt.param, tt.value)); diff != "" {
				t.Errorf("Param(%q, %q) (-want +got):\n%s", tt.param, tt.value, diff)
			}
		})
	}
}

func TestClean(t *testing.T) {
	long := strings.Repeat("ab-", 1<<19) // 1.5 MiB, no base64 run
	tests := []struct {
		name  string
		in    string
		bound int
		want  string
	}{
		{"ok/kept", "GetSite", 64, "GetSite"},
		{"ok/unicode_kept", "é-ü", 64, "é-ü"},
		{"ok/empty", "", 64, ""},
		{"control/newline_escape_tab", "a\nb\x1b[31mc\td\x7f", 64, "a?b?[31mc?d?"},
		{"control/not_utf8", "a\xffb", 64, "a?b"},
		{"control/unicode_format", "a\u202eb\u200bc", 64, "a?b?c"},
		{"cut/long", long, 64, long[:64-len("…[1572864 bytes]")] + "…[1572864 bytes]"},
		{"cut/at_rune_boundary", strings.Repeat("é", 40), 32, strings.Repeat("é", 9) + "…[80 bytes]"},
		{"cut/small_bound_raised", long, 1, long[:32-len("…[1572864 bytes]")] + "…[1572864 bytes]"},
		{"key/pem_private", "x -----BEGIN PRIVATE KEY-----\nMIIE", 64, "[redacted: 34 bytes]"},
		{"key/pem_any", "-----BEGIN CERTIFICATE-----", 64, "[redacted: 27 bytes]"},
		{"key/pem_far_beyond_the_cut", long + "RSA PRIVATE KEY", 64, "[redacted: 1572879 bytes]"},
		{"key/base64_run", strings.Repeat("QUJD", 16), 128, "[redacted: 64 bytes]"},
		{"ok/short_base64_kept", "LTAI0123456789abcdefghij", 64, "LTAI0123456789abcdefghij"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Clean(tt.in, tt.bound)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Clean (-want +got):\n%s", diff)
			}
			if len(got) > max(tt.bound, minClean) || !utf8.ValidString(got) {
				t.Errorf("Clean gave %d bytes (bound %d), valid UTF-8 %v", len(got), tt.bound, utf8.ValidString(got))
			}
			for _, r := range got {
				if !unicode.IsPrint(r) {
					t.Errorf("Clean left %U", r)
				}
			}
		})
	}
}

// FuzzClean: whatever the input, the result is bounded, printable UTF-8,
// and never shows PEM text.
func FuzzClean(f *testing.F) {
	f.Add("GetSite", 64)
	f.Add("a\nb\x1b\xff", 8)
	f.Add("-----BEGIN PRIVATE KEY-----", 40)
	f.Fuzz(func(t *testing.T, s string, bound int) {
		bound = bound % 4096
		got := Clean(s, bound)
		if len(got) > max(bound, minClean) || !utf8.ValidString(got) || strings.Contains(got, "-----BEGIN") || strings.Contains(got, "PRIVATE KEY") {
			t.Fatalf("Clean(%q, %d) = %q", s, bound, got)
		}
		for _, r := range got {
			if !unicode.IsPrint(r) {
				t.Fatalf("Clean(%q, %d) left %U", s, bound, r)
			}
		}
	})
}

func TestPrefix(t *testing.T) {
	tests := []struct {
		name string
		in   string
		n    int
		want string
	}{
		{"ok/short_kept", "LTAIabc", 8, "LTAIabc"},
		{"ok/exact_kept", "LTAIabcd", 8, "LTAIabcd"},
		{"cut/long", "LTAI0123456789abcdefghij", 8, "LTAI0123…[24 bytes]"},
		{"cut/rune_boundary", "abcdefgé", 8, "abcdefg…[9 bytes]"},
		{"cut/control", "a\nbcdefghij", 8, "a?bcdefg…[11 bytes]"},
		{"key/pem", "-----BEGIN PRIVATE KEY-----", 8, "[redacted: 27 bytes]"},
		{"key/base64_run", strings.Repeat("QUJD", 20), 8, "[redacted: 80 bytes]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Prefix(tt.in, tt.n)); diff != "" {
				t.Errorf("Prefix(%q, %d) (-want +got):\n%s", tt.in, tt.n, diff)
			}
		})
	}
}
