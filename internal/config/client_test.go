package config

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func loadClient(args []string, e map[string]string) (Client, []string, error) {
	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return LoadClient(fs, args, env(e))
}

func TestLoadClient(t *testing.T) {
	dir := t.TempDir()
	profiles := filepath.Join(dir, "profiles.json")
	os.WriteFile(profiles, []byte(`{
  "prod": {"endpoint": "https://esacert.example.net:8787", "access_key_id": "LTAIprod", "access_key_secret": "prod-secret", "ca_file": "/etc/prod-ca.pem"},
  "lab": {"endpoint": "10.0.0.5:8787", "insecure": true}
}`), 0o600)
	type want struct {
		Endpoint                        string
		Local                           bool
		KeyID, Secret, Token, KeySource string
		Roots                           []string
		Insecure                        bool
		LocalKey                        string
		Positional                      []string
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want want
	}{
		{"ok/defaults_local_node", []string{"ListSites"}, nil,
			want{Endpoint: "http://127.0.0.1:8787", Local: true, LocalKey: "esacert-data/root-access-key", Positional: []string{"ListSites"}}},
		{"ok/flags_around_the_action", []string{"--data", "/srv/d", "ListSites", "--api-addr", ":9000"}, nil,
			want{Endpoint: "http://127.0.0.1:9000", Local: true, LocalKey: "/srv/d/root-access-key", Positional: []string{"ListSites"}}},
		{"ok/api_addr_env_ipv6_unspecified", nil, map[string]string{"ESACERT_API_ADDR": "[::]:8787"},
			want{Endpoint: "http://[::1]:8787", Local: true, LocalKey: "esacert-data/root-access-key"}},
		{"ok/api_tls_trusts_its_certificate", []string{"--api-addr", "0.0.0.0:8443", "--api-tls-cert", "/c.pem", "--api-tls-key", "/k.pem"}, nil,
			want{Endpoint: "https://127.0.0.1:8443", Local: true, Roots: []string{"/c.pem"}, LocalKey: "esacert-data/root-access-key"}},
		{"ok/esacert_env_key", nil, map[string]string{"ESACERT_ACCESS_KEY_ID": "LTAIenv", "ESACERT_ACCESS_KEY_SECRET": "s", "ESACERT_SECURITY_TOKEN": "tok",
			"ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAIali", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "a"},
			want{Endpoint: "http://127.0.0.1:8787", Local: true, KeyID: "LTAIenv", Secret: "s", Token: "tok", KeySource: "ESACERT_ACCESS_KEY_ID"}},
		{"ok/alibaba_cloud_env_key", nil, map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAIali", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "a",
			"ALIBABA_CLOUD_SECURITY_TOKEN": "t"},
			want{Endpoint: "http://127.0.0.1:8787", Local: true, KeyID: "LTAIali", Secret: "a", Token: "t", KeySource: "ALIBABA_CLOUD_ACCESS_KEY_ID"}},
		{"ok/endpoint_flag_is_not_local", []string{"--endpoint", "https://api.example.net:8787/", "--ca-file", "/ca.pem"}, nil,
			want{Endpoint: "https://api.example.net:8787", Roots: []string{"/ca.pem"}}},
		{"ok/endpoint_env_host_port", nil, map[string]string{"ESACERT_ENDPOINT": "10.1.2.3:8787", "ESACERT_INSECURE": "true"},
			want{Endpoint: "http://10.1.2.3:8787", Insecure: true}},
		{"ok/profile", []string{"--profile", "prod"}, map[string]string{"ESACERT_PROFILES": profiles, "ESACERT_ENDPOINT": "http://other:1",
			"ESACERT_ACCESS_KEY_ID": "LTAIenv", "ESACERT_ACCESS_KEY_SECRET": "s"},
			want{Endpoint: "https://esacert.example.net:8787", KeyID: "LTAIprod", Secret: "prod-secret", KeySource: `profile "prod"`, Roots: []string{"/etc/prod-ca.pem"}}},
		{"ok/profile_env_flags_win", []string{"--endpoint", "https://x.example:1", "--ca-file", "/mine.pem"}, map[string]string{"ESACERT_PROFILES": profiles, "ESACERT_PROFILE": "prod"},
			want{Endpoint: "https://x.example:1", KeyID: "LTAIprod", Secret: "prod-secret", KeySource: `profile "prod"`, Roots: []string{"/mine.pem"}}},
		{"ok/profile_without_key_uses_env", []string{"--profile", "lab"}, map[string]string{"ESACERT_PROFILES": profiles,
			"ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAIali", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "a"},
			want{Endpoint: "http://10.0.0.5:8787", Insecure: true, KeyID: "LTAIali", Secret: "a", KeySource: "ALIBABA_CLOUD_ACCESS_KEY_ID"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, pos, err := loadClient(tt.args, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			got := want{c.Endpoint, c.Local, c.AccessKeyID, c.AccessKeySecret, c.SecurityToken, c.KeySource, c.Roots, c.Insecure,
				c.LocalKey("root-access-key"), pos}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("LoadClient (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadClientErrors(t *testing.T) {
	dir := t.TempDir()
	profiles := filepath.Join(dir, "profiles.json")
	os.WriteFile(profiles, []byte(`{"prod": {"access_key_id": "LTAIprod"}, "typo": {}}`), 0o600)
	open := filepath.Join(dir, "open.json")
	os.WriteFile(open, []byte(`{"prod": {}}`), 0o644)
	os.Chmod(open, 0o644)
	unknown := filepath.Join(dir, "unknown.json")
	os.WriteFile(unknown, []byte(`{"prod": {"secret": "x"}}`), 0o600)
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"fail/no_such_profile", []string{"--profile", "staging"}, map[string]string{"ESACERT_PROFILES": profiles}, `no profile "staging" (it has: prod, typo)`},
		{"fail/half_a_key_in_profile", []string{"--profile", "prod"}, map[string]string{"ESACERT_PROFILES": profiles}, "go together"},
		{"fail/profiles_file_open_to_others", []string{"--profile", "prod"}, map[string]string{"ESACERT_PROFILES": open}, "chmod 600"},
		{"fail/unknown_profile_key", []string{"--profile", "prod"}, map[string]string{"ESACERT_PROFILES": unknown}, `unknown field "secret"`},
		{"fail/missing_profiles_file", []string{"--profile", "prod"}, map[string]string{"ESACERT_PROFILES": filepath.Join(dir, "none.json")}, "no such file"},
		{"fail/half_alibaba_key", nil, map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": "x"}, "go together"},
		{"fail/bad_endpoint", []string{"--endpoint", "ftp://x"}, nil, "not an http"},
		{"fail/endpoint_with_path", []string{"--endpoint", "https://x/api"}, nil, "not an http"},
		{"fail/bad_insecure_env", nil, map[string]string{"ESACERT_INSECURE": "maybe"}, "ESACERT_INSECURE"},
		{"fail/unknown_flag", []string{"--nope"}, nil, "nope"},
		{"fail/bad_node_config", []string{"--api-addr", "nohostport"}, nil, "--api-addr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := loadClient(tt.args, tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
	if _, _, err := loadClient([]string{"-h"}, nil); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h gave %v, want flag.ErrHelp", err)
	}
}

func TestProfilesFile(t *testing.T) {
	if got := ProfilesFile(env(map[string]string{"ESACERT_PROFILES": "/p.json", "HOME": "/home/u"})); got != "/p.json" {
		t.Errorf("ESACERT_PROFILES: got %s", got)
	}
	got := ProfilesFile(env(map[string]string{"HOME": "/home/u", "XDG_CONFIG_HOME": "/xdg", "AppData": `C:\AppData`}))
	if !strings.HasSuffix(got, filepath.Join("esacert", "profiles.json")) || !filepath.IsAbs(got) {
		t.Errorf("default profiles file %s", got)
	}
}
