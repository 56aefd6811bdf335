package config

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoad(t *testing.T) {
	file := filepath.Join(t.TempDir(), "esacert.json")
	os.WriteFile(file, []byte(`{"api_addr": "127.0.0.1:9000", "default_plan": "high", "log_level": "debug",
		"plan_limits": {"basic": {"sites": 3, "custom_certs": 50, "free_certs": 0}}}`), 0o600)
	origins := filepath.Join(t.TempDir(), "origins.json")
	os.WriteFile(origins, []byte(`{"private_origins": "192.168.0.0/16"}`), 0o600)

	tests := []struct {
		name string
		args []string
		env  map[string]string
		want func(c *Config)
	}{
		{"ok/defaults", nil, nil, func(c *Config) {}},
		{"ok/flags", []string{"--data", "/tmp/d", "--api-addr", ":1", "--verify-site-ownership"}, nil, func(c *Config) {
			c.DataDir, c.DB, c.APIAddr, c.VerifySiteOwnership = "/tmp/d", "sqlite:/tmp/d/esacert.db", ":1", true
		}},
		{"ok/env", nil, map[string]string{"ESACERT_API_ADDR": ":2", "ESACERT_DB": "postgres://u@h/db",
			"ESACERT_ACCESS_KEY_ID": "id", "ESACERT_ACCESS_KEY_SECRET": "s"}, func(c *Config) {
			c.APIAddr, c.DB, c.AccessKeyID, c.AccessKeySecret = ":2", "postgres://u@h/db", "id", "s"
		}},
		{"ok/flag_beats_env_beats_file", []string{"--config", file, "--api-addr", ":3"},
			map[string]string{"ESACERT_API_ADDR": ":4", "ESACERT_DEFAULT_PLAN": "medium"}, func(c *Config) {
				c.APIAddr, c.DefaultPlan, c.LogLevel = ":3", "medium", "debug"
				c.PlanLimits = map[string]PlanLimit{"basic": {Sites: 3, CustomCerts: 50}}
			}},
		{"ok/acme", []string{"--acme-ca", "step=https://ca.example/acme/dir", "--acme-challenges", "http-01, tls-alpn-01"},
			map[string]string{"ESACERT_ACME_EAB": "step=kid-1:c2VjcmV0LWhtYWM="}, func(c *Config) {
				c.ACMECAs, c.ACMEChallenges, c.ACMEEAB = "step=https://ca.example/acme/dir", "http-01, tls-alpn-01", "step=kid-1:c2VjcmV0LWhtYWM="
			}},
		{"ok/site_verify_interval_1s", []string{"--site-verify-interval", "1s"}, nil, func(c *Config) { c.SiteVerifyInterval = "1s" }},
		{"ok/site_verify_interval_24h", nil, map[string]string{"ESACERT_SITE_VERIFY_INTERVAL": "24h"}, func(c *Config) { c.SiteVerifyInterval = "24h" }},
		{"ok/private_origins_flag", []string{"--private-origins", "10.0.0.0/8, 127.0.0.1/32"}, nil, func(c *Config) {
			c.PrivateOrigins = "10.0.0.0/8, 127.0.0.1/32"
		}},
		{"ok/http3_addr_off", []string{"--http3-addr", "off"}, nil, func(c *Config) { c.HTTP3Addr = "off" }},
		{"ok/http3_addr_env", nil, map[string]string{"ESACERT_HTTP3_ADDR": ":443"}, func(c *Config) { c.HTTP3Addr = ":443" }},
		{"ok/metrics_addr_flag", []string{"--metrics-addr", "127.0.0.1:9090"}, nil, func(c *Config) { c.MetricsAddr = "127.0.0.1:9090" }},
		{"ok/metrics_addr_env", []string{"--https-addr", "127.0.0.1:8443"}, map[string]string{"ESACERT_METRICS_ADDR": "10.0.0.1:8443"}, func(c *Config) {
			c.MetricsAddr = "10.0.0.1:8443" // another host than the edge's 127.0.0.1: no clash
			c.HTTPSAddr = "127.0.0.1:8443"
		}},
		{"ok/private_origins_env", nil, map[string]string{"ESACERT_PRIVATE_ORIGINS": "fd00::/8"}, func(c *Config) {
			c.PrivateOrigins = "fd00::/8"
		}},
		{"ok/private_origins_file", nil, map[string]string{"ESACERT_CONFIG": origins}, func(c *Config) {
			c.PrivateOrigins = "192.168.0.0/16"
		}},
		{"ok/console_env", nil, map[string]string{"ESACERT_CONSOLE_ADDR": "127.0.0.1:8788"}, func(c *Config) {
			c.ConsoleAddr = "127.0.0.1:8788"
		}},
		{"ok/access_log", []string{"--access-log", "/var/log/esacert/access.log", "--access-log-sample", "0.25", "--no-sni-host", "www.example.com"}, nil,
			func(c *Config) {
				c.AccessLog, c.AccessLogSample, c.NoSNIHost = "/var/log/esacert/access.log", "0.25", "www.example.com"
			}},
		{"ok/access_log_env", nil, map[string]string{"ESACERT_ACCESS_LOG": "-", "ESACERT_ACCESS_LOG_SAMPLE": "0", "ESACERT_NO_SNI_HOST": "example.com."},
			func(c *Config) { c.AccessLog, c.AccessLogSample, c.NoSNIHost = "-", "0", "example.com." }},
		{"ok/edge_cert_cache", []string{"--edge-cert-cache", "250000"}, nil, func(c *Config) { c.EdgeCertCache = "250000" }},
		{"ok/edge_cert_cache_env", nil, map[string]string{"ESACERT_EDGE_CERT_CACHE": "1"}, func(c *Config) { c.EdgeCertCache = "1" }},
		{"ok/file", nil, map[string]string{"ESACERT_CONFIG": file}, func(c *Config) {
			c.APIAddr, c.DefaultPlan, c.LogLevel = "127.0.0.1:9000", "high", "debug"
			c.PlanLimits = map[string]PlanLimit{"basic": {Sites: 3, CustomCerts: 50}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load("serve", tt.args, env(tt.env), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			want := Defaults()
			want.DB = "sqlite:esacert-data/esacert.db"
			tt.want(&want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Load (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(file, []byte(`{"api_adr": "x"}`), 0o600)
	badLimits := filepath.Join(t.TempDir(), "limits.json")
	os.WriteFile(badLimits, []byte(`{"plan_limits": {"gold": {"sites": 1}, "basic": {"custom_certs": -1}}}`), 0o600)
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want []string // every one must appear in the error
	}{
		{"fail/unknown_flag", []string{"--nope"}, nil, []string{"nope"}},
		{"fail/unknown_file_key", []string{"--config", file}, nil, []string{"api_adr"}},
		{"fail/all_at_once", []string{"--api-addr", "nohostport", "--default-plan", "gold", "--log-format", "xml"},
			map[string]string{"ESACERT_ACCESS_KEY_ID": "only-id"},
			[]string{"--api-addr", "--default-plan", "--log-format", "ESACERT_ACCESS_KEY_SECRET"}},
		{"fail/bad_plan_limits", []string{"--config", badLimits}, nil, []string{"gold", "negative"}},
		{"fail/tls_pair", []string{"--api-tls-cert", "c.pem"}, nil, []string{"--api-tls-key"}},
		{"fail/db_scheme", []string{"--db", "mysql://u:pw@h/db"}, nil, []string{"--db"}},
		{"fail/acme_challenge", []string{"--acme-challenges", "dns-02"}, nil, []string{"--acme-challenges", "dns-02"}},
		{"fail/dns01_without_provider", []string{"--acme-challenges", "dns-01"}, nil, []string{"--acme-challenges", "--acme-dns-provider"}},
		{"fail/dns_resolvers", []string{"--acme-dns-resolvers", "8.8.8.8"}, nil, []string{"--acme-dns-resolvers", "host:port"}},
		{"fail/verify_resolvers", []string{"--verify-resolvers", "127.0.0.1:53,1.1.1.1"}, nil, []string{"--verify-resolvers", `"1.1.1.1" is not host:port`}},
		{"fail/eab_unknown_ca", nil, map[string]string{"ESACERT_ACME_EAB": "zerossl=kid:c2VjcmV0LWhtYWM"}, []string{"ESACERT_ACME_EAB", "zerossl"}},
		{"fail/eab_shape", nil, map[string]string{"ESACERT_ACME_EAB": "lets_encrypt=c2VjcmV0LWhtYWM"}, []string{"ESACERT_ACME_EAB", "NAME=KEY_ID:HMAC_KEY"}},
		{"fail/eab_not_base64", nil, map[string]string{"ESACERT_ACME_EAB": "lets_encrypt=kid:pw@secret!"}, []string{"ESACERT_ACME_EAB", "base64url"}},
		{"fail/private_origins", []string{"--private-origins", "10.0.0.0/8,10.0.0.1,0.0.0.0/0,8.8.8.0/24"}, nil,
			[]string{"--private-origins", `"10.0.0.1" is not a CIDR`, `"0.0.0.0/0" is wider`, `"8.8.8.0/24" holds no refused address`}},
		{"fail/http3_addr_shape", []string{"--http3-addr", "on"}, nil, []string{"--http3-addr", "HOST:PORT"}},
		{"fail/metrics_addr_shape", []string{"--metrics-addr", "9090"}, nil, []string{"--metrics-addr", "HOST:PORT"}},
		{"fail/metrics_addr_on_the_edge", []string{"--metrics-addr", "127.0.0.1:8443"}, nil, []string{"--metrics-addr", "--https-addr"}},
		{"fail/metrics_addr_on_the_api", []string{"--metrics-addr", "127.0.0.1:8787"}, nil, []string{"--metrics-addr", "--api-addr"}},
		{"fail/metrics_addr_on_the_console", []string{"--metrics-addr", "127.0.0.1:8788", "--console-addr", ":8788"}, nil, []string{"--metrics-addr", "--console-addr"}},
		{"fail/console_addr", []string{"--console-addr", "8788"}, nil, []string{"--console-addr", "HOST:PORT"}},
		{"fail/console_without_api", []string{"--console-addr", ":8788", "--roles", "edge"}, nil, []string{"--console-addr", "api role"}},
		{"fail/bad_bool_env", nil, map[string]string{"ESACERT_VERIFY_SITE_OWNERSHIP": "maybe"}, []string{"ESACERT_VERIFY_SITE_OWNERSHIP"}},
		{"fail/site_verify_interval_1ns", []string{"--site-verify-interval", "1ns"}, nil, []string{"--site-verify-interval", `"1ns"`, "from 1s to 24h0m0s"}},
		{"fail/site_verify_interval_under_1s", []string{"--site-verify-interval", "999ms"}, nil, []string{"--site-verify-interval", `"999ms"`}},
		{"fail/site_verify_interval_zero", nil, map[string]string{"ESACERT_SITE_VERIFY_INTERVAL": "0s"}, []string{"--site-verify-interval"}},
		{"fail/site_verify_interval_negative", []string{"--site-verify-interval", "-1m"}, nil, []string{"--site-verify-interval"}},
		{"fail/site_verify_interval_years", []string{"--site-verify-interval", "10000h"}, nil, []string{"--site-verify-interval"}},
		{"fail/access_log_sample", []string{"--access-log-sample", "1.5"}, nil, []string{"--access-log-sample", `"1.5"`}},
		{"fail/access_log_sample_nan", nil, map[string]string{"ESACERT_ACCESS_LOG_SAMPLE": "NaN"}, []string{"--access-log-sample"}},
		{"fail/access_log_sample_percent", []string{"--access-log-sample", "10%"}, nil, []string{"--access-log-sample"}},
		{"fail/no_sni_host_port", []string{"--no-sni-host", "www.example.com:443"}, nil, []string{"--no-sni-host"}},
		{"fail/no_sni_host_wildcard", []string{"--no-sni-host", "*.example.com"}, nil, []string{"--no-sni-host"}},
		{"fail/edge_cert_cache_zero", []string{"--edge-cert-cache", "0"}, nil, []string{"--edge-cert-cache", `"0"`}},
		{"fail/edge_cert_cache_negative", nil, map[string]string{"ESACERT_EDGE_CERT_CACHE": "-5"}, []string{"--edge-cert-cache", `"-5"`}},
		{"fail/edge_cert_cache_huge", []string{"--edge-cert-cache", "10000001"}, nil, []string{"--edge-cert-cache"}},
		{"fail/edge_cert_cache_not_a_number", []string{"--edge-cert-cache", "10k"}, nil, []string{"--edge-cert-cache", `"10k"`}},
		{"fail/site_verify_interval_not_a_duration", []string{"--site-verify-interval", "soon"}, nil, []string{"--site-verify-interval", `"soon"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("serve", tt.args, env(tt.env), io.Discard)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), ":pw@") || strings.Contains(err.Error(), "pw@secret") || strings.Contains(err.Error(), "c2VjcmV0") {
				t.Errorf("error shows a DSN password: %v", err)
			}
		})
	}
}

func TestPrivateOriginRanges(t *testing.T) {
	c, err := Load("serve", []string{"--private-origins", "127.0.0.1/32, 10.1.2.3/16"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.1.0.0/16")}
	if diff := cmp.Diff(want, c.PrivateOriginRanges(), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("PrivateOriginRanges (-want +got):\n%s", diff)
	}
	if d := Defaults(); len(d.PrivateOriginRanges()) != 0 {
		t.Errorf("default PrivateOriginRanges = %v, want none", d.PrivateOriginRanges())
	}
}

func TestLimits(t *testing.T) {
	c := Defaults()
	c.PlanLimits = map[string]PlanLimit{"basic": {Sites: 2, CustomCerts: 7, FreeCerts: 9}}
	l := c.Limits()
	if l["basic"].CustomCerts != 7 || l["basic"].Sites != 2 || l["standard"].CustomCerts != 10 {
		t.Errorf("Limits = %+v", l)
	}
}

// TestACMEDirectories: lets_encrypt is built in, --acme-staging points it
// at the staging CA, and --acme-ca adds CAs by name.
func TestACMEDirectories(t *testing.T) {
	c, err := Load("serve", []string{"--acme-staging", "--acme-ca", "step=https://ca.example/acme/dir, zerossl=https://acme.zerossl.com/v2/DV90"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	dirs, err := c.ACMEDirectories()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"lets_encrypt": "https://acme-staging-v02.api.letsencrypt.org/directory",
		"step": "https://ca.example/acme/dir", "zerossl": "https://acme.zerossl.com/v2/DV90"}
	if diff := cmp.Diff(want, dirs); diff != "" {
		t.Errorf("ACMEDirectories (-want +got):\n%s", diff)
	}
	if _, err := Load("serve", []string{"--acme-ca", "plain=http://ca.example/dir"}, env(nil), io.Discard); err == nil {
		t.Error("a CA directory over plain HTTP was accepted")
	}
}

// TestNotify: the notification channels come from the file, with URLs and
// secrets from the file or the environment, named after their type by
// default; every mistake is reported at once, and no error or String
// quotes a URL or a secret.
func TestNotify(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	os.WriteFile(good, []byte(`{"notify_poll": "30s", "notify": [
		{"type": "webhook", "url": "https://hooks.example.com/esacert/tok-secret-1", "secret": "sec-secret-1",
		 "events": ["certificate.expiring", "certificate.expired"]},
		{"name": "team", "type": "dingtalk", "url_env": "DT_URL", "secret_env": "DT_SECRET"},
		{"type": "slack", "url": "https://hooks.slack.com/services/T0/B0/tok-secret-2"}]}`), 0o600)
	c, err := Load("serve", []string{"--config", good}, env(map[string]string{
		"DT_URL": "https://oapi.dingtalk.com/robot/send?access_token=tok-secret-3", "DT_SECRET": "SECsecret-4"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := []NotifyChannel{
		{Name: "webhook", Type: "webhook", URL: "https://hooks.example.com/esacert/tok-secret-1", Secret: "sec-secret-1",
			Events: []string{"certificate.expiring", "certificate.expired"}},
		{Name: "team", Type: "dingtalk", URL: "https://oapi.dingtalk.com/robot/send?access_token=tok-secret-3", URLEnv: "DT_URL",
			Secret: "SECsecret-4", SecretEnv: "DT_SECRET"},
		{Name: "slack", Type: "slack", URL: "https://hooks.slack.com/services/T0/B0/tok-secret-2"},
	}
	if diff := cmp.Diff(want, c.Notify); diff != "" {
		t.Errorf("Notify (-want +got):\n%s", diff)
	}
	if c.NotifyPoll != "30s" || Duration(c.NotifyPoll) != 30*time.Second {
		t.Errorf("NotifyPoll = %q", c.NotifyPoll)
	}
	if s := fmt.Sprint(c.Notify, c); strings.Contains(s, "secret-") {
		t.Errorf("printing the configuration shows a secret: %s", s)
	}

	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"notify": [
		{"type": "teams", "url": "https://example.com/tok-secret-5"},
		{"type": "slack", "url": "https://hooks.slack.com/services/tok-secret-6", "secret": "sec-secret-7"},
		{"name": "dup", "type": "wecom", "url": "ftp://qyapi.weixin.qq.com/tok-secret-8"},
		{"name": "dup", "type": "lark", "url": "https://open.feishu.cn/hook", "events": ["certificate.renewed"]},
		{"name": "x y", "type": "webhook"},
		{"type": "dingtalk", "url": "https://oapi.dingtalk.com/robot/send", "url_env": "NOPE", "secret_env": "UNSET"}]}`), 0o600)
	_, err = Load("serve", []string{"--config", bad, "--notify-poll", "0s"}, env(map[string]string{"NOPE": "https://x/tok-secret-9"}), io.Discard)
	if err == nil {
		t.Fatal("Load succeeded")
	}
	for _, w := range []string{`notify[0] (teams): type "teams" is not one of`, "notify[1] (slack): a slack robot has no signing secret",
		"notify[2] (dup): url is not an http:// or https:// URL", "notify[3] (dup): the name is taken",
		`notify[3] (dup): event "certificate.renewed" is not one of`, "notify[4] (x y): name must be",
		"notify[4] (x y): url (or url_env) is required", "notify[5] (dingtalk): give url or url_env, not both",
		"notify[5] (dingtalk): secret_env names UNSET, which is not set", "--notify-poll"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	if strings.Contains(err.Error(), "secret-") {
		t.Errorf("the error quotes a URL or a secret: %v", err)
	}
}

// TestREADMENotifyExample: the README's notify example loads as it is.
func TestREADMENotifyExample(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var example string
	for _, block := range strings.Split(string(readme), "```json\n")[1:] {
		block, _, _ = strings.Cut(block, "```")
		if strings.Contains(block, `"notify": [`) {
			example = block
		}
	}
	if example == "" {
		t.Fatal("the README has no notify example")
	}
	file := filepath.Join(t.TempDir(), "esacert.json")
	os.WriteFile(file, []byte(example), 0o600)
	c, err := Load("serve", []string{"--config", file}, env(map[string]string{
		"OPS_HOOK_SECRET": "s", "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/x"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ch := range c.Notify {
		names = append(names, ch.Name+"/"+ch.Type)
	}
	if diff := cmp.Diff([]string{"ops/webhook", "dingtalk/dingtalk", "lark/lark", "wecom/wecom", "slack/slack"}, names); diff != "" {
		t.Errorf("channels (-want +got):\n%s", diff)
	}
}
