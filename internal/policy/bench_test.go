package policy

import (
	"encoding/json"
	"fmt"
	"testing"
)

// BenchmarkEvaluate: a request decided under 10 policies of 20 statements
// each (wildcard actions, per-site resources, an IP condition on some), the
// size the access-control target names; the request is allowed only by the
// last statement of the last policy, so every statement is looked at.
func BenchmarkEvaluate(b *testing.B) {
	var policies []*Policy
	for p := range 10 {
		var sts []map[string]any
		for s := range 20 {
			st := map[string]any{"Effect": "Allow", "Action": []string{"esa:Get*", fmt.Sprintf("esa:Set%dCertificate", s)},
				"Resource": fmt.Sprintf("acs:esa:*:1234:site/%d%d*", p, s)}
			if s%4 == 0 {
				st["Condition"] = map[string]any{"IpAddress": map[string]any{"acs:SourceIp": []string{"10.0.0.0/8", "203.0.113.0/24"}}}
			}
			sts = append(sts, st)
		}
		if p == 9 {
			sts[19] = map[string]any{"Effect": "Allow", "Action": "esa:SetCertificate", "Resource": "acs:esa:*:1234:site/42"}
		}
		doc, _ := json.Marshal(map[string]any{"Version": "1", "Statement": sts})
		policies = append(policies, MustParse(string(doc)))
	}
	r := req("esa:SetCertificate", "acs:esa:*:1234:site/42", KeySourceIP, "203.0.113.9", KeySecureTransport, "true")
	if Evaluate(r, policies...) != Allowed {
		b.Fatal("not allowed")
	}
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(r, policies...)
	}
}

// BenchmarkSetEvaluate: the same request and policies as BenchmarkEvaluate,
// compiled into a Set (the statements indexed by action).
func BenchmarkSetEvaluate(b *testing.B) {
	var policies []*Policy
	for p := range 10 {
		var sts []map[string]any
		for s := range 20 {
			st := map[string]any{"Effect": "Allow", "Action": []string{"esa:Get*", fmt.Sprintf("esa:Set%dCertificate", s)},
				"Resource": fmt.Sprintf("acs:esa:*:1234:site/%d%d*", p, s)}
			if s%4 == 0 {
				st["Condition"] = map[string]any{"IpAddress": map[string]any{"acs:SourceIp": []string{"10.0.0.0/8", "203.0.113.0/24"}}}
			}
			sts = append(sts, st)
		}
		if p == 9 {
			sts[19] = map[string]any{"Effect": "Allow", "Action": "esa:SetCertificate", "Resource": "acs:esa:*:1234:site/42"}
		}
		doc, _ := json.Marshal(map[string]any{"Version": "1", "Statement": sts})
		policies = append(policies, MustParse(string(doc)))
	}
	set := NewSet(policies...)
	r := req("esa:SetCertificate", "acs:esa:*:1234:site/42", KeySourceIP, "203.0.113.9", KeySecureTransport, "true")
	if set.Evaluate(r) != Allowed {
		b.Fatal("not allowed")
	}
	b.ReportAllocs()
	for b.Loop() {
		set.Evaluate(r)
	}
}
