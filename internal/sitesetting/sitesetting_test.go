package sitesetting

import (
	"errors"
	"testing"

	"github.com/esacert/esacert/internal/domain"
)

func TestFixedCheck(t *testing.T) {
	enable := Fixed{Feature: "SEO bypass", Param: "Enable", Off: Off, Valid: []string{On, Off}}
	name := Fixed{Feature: "cache tags", Param: "TagName"}
	tests := []struct {
		name string
		f    Fixed
		v    string
		want error
	}{
		{"ok/absent", enable, "", nil},
		{"ok/off", enable, "off", nil},
		{"fail/on", enable, "on", ErrUnsupported},
		{"fail/undocumented", enable, "yes", domain.ErrInvalid},
		{"ok/free_text_empty", name, "", nil},
		{"fail/free_text", name, "tag", ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.f.Check(tt.v)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Check(%q) = %v, want %v", tt.v, err, tt.want)
			}
			var pe *domain.ParamError
			if err != nil && (!errors.As(err, &pe) || pe.Param != tt.f.Param) {
				t.Errorf("Check(%q) = %v, want a ParamError naming %s", tt.v, err, tt.f.Param)
			}
		})
	}
}

func TestCheckHeaderName(t *testing.T) {
	for _, ok := range []string{"X-Client-IP", "ali-real-client-ip", "a"} {
		if got, err := CheckHeaderName("N", ok); err != nil || got != ok {
			t.Errorf("CheckHeaderName(%q) = %q, %v; want it as given", ok, got, err)
		}
	}
	for _, bad := range []string{"", "1ip", "-ip", "x_ip", "x ip", "Host", "x-forwarded-for", "Content-Length",
		"CDN-Loop", "cdn-loop", "Via", "VIA", string(make([]byte, 65))} {
		if _, err := CheckHeaderName("N", bad); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("CheckHeaderName(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestConfigEdge(t *testing.T) {
	tests := []struct {
		name string
		c    Config
		want Settings
	}{
		{"legacy_is_the_zero_settings", LegacyConfig(), Settings{}},
		{"new_site_takes_ipv6", NewSiteConfig(), Settings{}},
		{"default_header", Config{IPv6: true, RealClientIPHeader: true}, Settings{RealClientIPHeader: DefaultRealClientIPHeader}},
		{"named_header", Config{IPv6: true, RealClientIPHeader: true, RealClientIPHeaderName: "X-IP"}, Settings{RealClientIPHeader: "X-IP"}},
		{"name_kept_while_off", Config{IPv6: true, RealClientIPHeaderName: "X-IP", Paused: true}, Settings{Paused: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.Edge(); got != tt.want {
				t.Errorf("Edge() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestConfigFeatures(t *testing.T) {
	var c Config
	if got := c.Feature("UpdateDevelopmentMode.Enable"); got != "" {
		t.Errorf("Feature of a Config with none set = %q, want \"\"", got)
	}
	c.SetFeature("UpdateDevelopmentMode.Enable", "off")
	shared := c
	c.SetFeature("UpdateSeoBypass.Enable", "off")
	c.SetFeature("UpdateDevelopmentMode.Enable", "")
	if got := c.Features; len(got) != 1 || got["UpdateSeoBypass.Enable"] != "off" {
		t.Errorf("Features = %v, want only UpdateSeoBypass.Enable off", got)
	}
	if got := shared.Feature("UpdateDevelopmentMode.Enable"); got != "off" || len(shared.Features) != 1 {
		t.Errorf("a copy taken before changed with it: %v", shared.Features)
	}
	c.SetFeature("UpdateSeoBypass.Enable", "")
	if c.Features != nil {
		t.Errorf("Features with every one forgotten = %#v, want nil", c.Features)
	}
}

func TestConfigManagedTransformAnswers(t *testing.T) {
	tests := []struct {
		name      string
		c         Config
		real, geo string
	}{
		{"never_set", NewSiteConfig(), "", ""},
		{"set_on", Config{RealClientIPHeader: true, RealClientIPHeaderSet: true}, On, ""},
		{"set_off", Config{RealClientIPHeaderSet: true, Features: map[string]string{geolocationKey: Off}}, Off, Off},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.AddRealClientIPHeader(); got != tt.real {
				t.Errorf("AddRealClientIPHeader() = %q, want %q", got, tt.real)
			}
			if got := tt.c.AddClientGeolocationHeader(); got != tt.geo {
				t.Errorf("AddClientGeolocationHeader() = %q, want %q", got, tt.geo)
			}
		})
	}
}
