package httpsconf

import "testing"

// TestEffectiveOrigin: the global origin rule, then the enabled rules that
// match, in Sequence order, each overriding only what it sets.
func TestEffectiveOrigin(t *testing.T) {
	rules := []OriginRule{
		{ConfigID: 1, ConfigType: ConfigGlobal, OriginScheme: SchemeFollow, OriginReadTimeout: "30"},
		{ConfigID: 2, ConfigType: ConfigRule, Rule: `(http.host eq "a.example.com")`, Sequence: 2, OriginSni: "late.example.net"},
		{ConfigID: 3, ConfigType: ConfigRule, Rule: `(http.host eq "a.example.com")`, Sequence: 1, OriginScheme: SchemeHTTPS,
			OriginSni: "early.example.net", OriginVerify: On},
		{ConfigID: 4, ConfigType: ConfigRule, Rule: "true", RuleEnable: Off, OriginScheme: SchemeHTTP},
	}
	a := EffectiveOrigin(rules, "A.example.com.")
	if a.OriginScheme != SchemeHTTPS || a.OriginSni != "late.example.net" || a.OriginVerify != On || a.OriginReadTimeout != "30" {
		t.Errorf("a.example.com: %+v", a)
	}
	b := EffectiveOrigin(rules, "b.example.com")
	if b.OriginScheme != SchemeFollow || b.OriginSni != "" || b.OriginVerify != "" {
		t.Errorf("b.example.com: %+v", b)
	}
	if z := EffectiveOrigin(nil, "a.example.com"); z != (OriginRule{}) {
		t.Errorf("no rules: %+v", z)
	}
}
