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

// The values ESA documents for the WAF settings' enumerations (the
// Terraform provider's alicloud_esa_site site_waf_settings): the actions
// of a bot category (the first, allow, is not one of bandwidth abuse
// protection's) and the security levels.
var (
	wafActions        = []string{"allow", "deny", "monitor", "captcha"}
	wafSecurityLevels = []string{"off", "essentially_off", "low", "medium", "high", "under_attack"}
)

// checkWafSettings checks EditSiteWafSettings' Settings (a JSON
// WafSiteSettings): every part may only say off. A documented value that
// turns a part on is Feature.NotSupported; an undocumented one is
// InvalidParameter. The first part that fails, in the order of the
// fields, names the error.
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
	// rule is what one setting may be: off (or left out, or ""), else a
	// value ESA documents (valid; nil for free text or a boolean), which
	// turns on a feature esacert does not have.
	rule := func(param, off string, valid ...string) sitesetting.Fixed {
		return sitesetting.Fixed{Feature: wafFeature, Param: "Settings." + param, Off: off, Valid: valid}
	}
	// unsupported refuses a setting the caller found on.
	unsupported := func(param, off string) error { return rule(param, off).Refuse() }
	var first error // the answer
	check := func(err error) {
		if first == nil {
			first = err
		}
	}
	if enabled(w.AddBotProtectionHeaders) {
		check(unsupported("AddBotProtectionHeaders.Enable", "false"))
	}
	if enabled(w.AddSecurityHeaders) {
		check(unsupported("AddSecurityHeaders.Enable", "false"))
	}
	if b := w.BandwidthAbuseProtection; b != nil {
		check(rule("BandwidthAbuseProtection.Status", sitesetting.Off, sitesetting.On, sitesetting.Off).Check(str(b.Status)))
		check(rule("BandwidthAbuseProtection.Action", "", wafActions[1:]...).Check(str(b.Action)))
	}
	if b := w.BotManagement; b != nil {
		for _, r := range []struct {
			name string
			rule *wafRule
		}{{"DefiniteBots", b.DefiniteBots}, {"LikelyBots", b.LikelyBots}, {"VerifiedBots", b.VerifiedBots}} {
			if r.rule != nil {
				check(rule("BotManagement."+r.name+".Action", "", wafActions...).Check(str(r.rule.Action)))
			}
		}
		if enabled(b.EffectOnStatic) {
			check(unsupported("BotManagement.EffectOnStatic.Enable", "false"))
		}
		if enabled(b.JSDetection) {
			check(unsupported("BotManagement.JSDetection.Enable", "false"))
		}
	}
	if c := w.ClientIpIdentifier; c != nil {
		check(rule("ClientIpIdentifier.Mode", "connection_ip", "connection_ip", "headers").Check(str(c.Mode)))
		if len(c.Headers) > 0 {
			check(unsupported("ClientIpIdentifier.Headers", ""))
		}
	}
	if d := w.DisableSecurityModule; d != nil {
		// on disables the security module, which esacert does not have:
		// off would enable it.
		check(rule("DisableSecurityModule.Status", sitesetting.On, sitesetting.On, sitesetting.Off).Check(str(d.Status)))
	}
	if r := w.RequestBodyInspection; r != nil && (str(r.Action) != "" || str(r.SizeLimit) != "") {
		check(unsupported("RequestBodyInspection", ""))
	}
	if l := w.SecurityLevel; l != nil {
		check(rule("SecurityLevel.Value", sitesetting.Off, wafSecurityLevels...).Check(str(l.Value)))
	}
	return first
}
