package api

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/sitesetting"
)

// The WAF settings of a site (GetSiteWafSettings, EditSiteWafSettings), in
// the SDK's WafSiteSettings shape. esacert has no WAF: the settings read
// as off, and an edit that would turn any of them on is refused.

type wafEnable struct {
	Enable *bool `json:",omitempty"`
}

type wafRule struct {
	Action *string `json:",omitempty"`
	Id     *int64  `json:",omitempty"`
}

type wafSettings struct {
	AddBotProtectionHeaders  *wafEnable `json:",omitempty"`
	AddSecurityHeaders       *wafEnable `json:",omitempty"`
	BandwidthAbuseProtection *struct {
		Action *string `json:",omitempty"`
		Id     *int64  `json:",omitempty"`
		Status *string `json:",omitempty"`
	} `json:",omitempty"`
	BotManagement *struct {
		DefiniteBots   *wafRule   `json:",omitempty"`
		EffectOnStatic *wafEnable `json:",omitempty"`
		JSDetection    *wafEnable `json:",omitempty"`
		LikelyBots     *wafRule   `json:",omitempty"`
		VerifiedBots   *wafRule   `json:",omitempty"`
	} `json:",omitempty"`
	ClientIpIdentifier *struct {
		Headers []string `json:",omitempty"`
		Mode    *string  `json:",omitempty"`
	} `json:",omitempty"`
	DisableSecurityModule *struct {
		Status *string `json:",omitempty"`
	} `json:",omitempty"`
	RequestBodyInspection *struct {
		Action    *string `json:",omitempty"`
		Id        *int64  `json:",omitempty"`
		SizeLimit *string `json:",omitempty"`
	} `json:",omitempty"`
	SecurityLevel *struct {
		Value *string `json:",omitempty"`
	} `json:",omitempty"`
}

// wafOff is what GetSiteWafSettings answers: the client's address is the
// connection's (ESA's default), no protection headers, security level off.
func wafOff() wafSettings {
	no, conn, off := false, "connection_ip", sitesetting.Off
	var w wafSettings
	w.AddBotProtectionHeaders = &wafEnable{&no}
	w.AddSecurityHeaders = &wafEnable{&no}
	w.ClientIpIdentifier = &struct {
		Headers []string `json:",omitempty"`
		Mode    *string  `json:",omitempty"`
	}{Mode: &conn}
	w.SecurityLevel = &struct {
		Value *string `json:",omitempty"`
	}{&off}
	return w
}

// wafPath answers GetSiteWafSettings for a Path (one part of the
// settings; "" for all).
func wafPath(path string) (any, error) {
	w := wafOff()
	var part wafSettings
	switch path {
	case "":
		part = w
	case "add_bot_protection_headers":
		part.AddBotProtectionHeaders = w.AddBotProtectionHeaders
	case "add_security_headers":
		part.AddSecurityHeaders = w.AddSecurityHeaders
	case "client_ip_identifier":
		part.ClientIpIdentifier = w.ClientIpIdentifier
	case "security_level":
		part.SecurityLevel = w.SecurityLevel
	case "bot_management":
	default:
		return nil, domain.Invalid("Path", "must be bot_management, add_security_headers, client_ip_identifier, "+
			"add_bot_protection_headers or security_level")
	}
	return struct{ Settings wafSettings }{part}, nil
}

const wafFeature = "WAF settings"

// checkWafSettings checks EditSiteWafSettings' Settings (a JSON
// WafSiteSettings): every part may only say off.
func checkWafSettings(p *params) error {
	raw := strings.TrimSpace(p.str("Settings"))
	if raw == "" {
		return nil
	}
	var w wafSettings
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil || dec.More() {
		return domain.Invalid("Settings", "must be a JSON WafSiteSettings object such as {\"SecurityLevel\":{\"Value\":\"off\"}}")
	}
	str := func(v *string) string {
		if v == nil {
			return ""
		}
		return *v
	}
	enabled := func(e *wafEnable) bool { return e != nil && e.Enable != nil && *e.Enable }
	unsupported := func(param, off string) error {
		return sitesetting.Fixed{Feature: wafFeature, Param: "Settings." + param, Off: off}.Check("on")
	}
	switch {
	case enabled(w.AddBotProtectionHeaders):
		return unsupported("AddBotProtectionHeaders.Enable", "false")
	case enabled(w.AddSecurityHeaders):
		return unsupported("AddSecurityHeaders.Enable", "false")
	}
	if b := w.BandwidthAbuseProtection; b != nil {
		if s := str(b.Status); s != "" && s != sitesetting.Off {
			return unsupported("BandwidthAbuseProtection.Status", sitesetting.Off)
		}
		if str(b.Action) != "" {
			return unsupported("BandwidthAbuseProtection.Action", "")
		}
	}
	if b := w.BotManagement; b != nil {
		for _, r := range []struct {
			name string
			rule *wafRule
		}{{"DefiniteBots", b.DefiniteBots}, {"LikelyBots", b.LikelyBots}, {"VerifiedBots", b.VerifiedBots}} {
			if r.rule != nil && str(r.rule.Action) != "" {
				return unsupported("BotManagement."+r.name+".Action", "")
			}
		}
		if enabled(b.EffectOnStatic) {
			return unsupported("BotManagement.EffectOnStatic.Enable", "false")
		}
		if enabled(b.JSDetection) {
			return unsupported("BotManagement.JSDetection.Enable", "false")
		}
	}
	if c := w.ClientIpIdentifier; c != nil {
		if m := str(c.Mode); m != "" && m != "connection_ip" {
			return unsupported("ClientIpIdentifier.Mode", "connection_ip")
		}
		if len(c.Headers) > 0 {
			return unsupported("ClientIpIdentifier.Headers", "")
		}
	}
	if d := w.DisableSecurityModule; d != nil {
		// on disables the security module, which esacert does not have.
		if s := str(d.Status); s != "" && s != sitesetting.On {
			return unsupported("DisableSecurityModule.Status", sitesetting.On)
		}
	}
	if r := w.RequestBodyInspection; r != nil && (str(r.Action) != "" || str(r.SizeLimit) != "") {
		return unsupported("RequestBodyInspection", "")
	}
	if l := w.SecurityLevel; l != nil {
		if v := str(l.Value); v != "" && v != sitesetting.Off {
			return unsupported("SecurityLevel.Value", sitesetting.Off)
		}
	}
	return nil
}
