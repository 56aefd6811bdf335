package rampolicy

import (
	"sort"
	"time"

	"github.com/esacert/esacert/internal/policy"
)

// systemPolicy is a built-in policy: one version, v1, never changed.
type systemPolicy struct {
	description string
	document    string
	compiled    *policy.Policy
}

// systemCreated is the creation time every system policy shows.
var systemCreated = time.Date(2024, 9, 10, 0, 0, 0, 0, time.UTC)

// systemPolicies are the system policies esacert knows, by name. The
// documents of AliyunSTSAssumeRoleAccess and AliyunRAMReadOnlyAccess are
// Alibaba Cloud's as published; the others grant what their names say
// (every action, or the read actions, of their service).
var systemPolicies = func() map[string]*systemPolicy {
	m := map[string]*systemPolicy{
		"AdministratorAccess": {description: "Provides full access to Alibaba Cloud services and resources.",
			document: `{"Statement":[{"Action":"*","Effect":"Allow","Resource":"*"}],"Version":"1"}`},
		"AliyunESAFullAccess": {description: "Provides full access to Edge Security Acceleration (ESA).",
			document: `{"Statement":[{"Action":"esa:*","Effect":"Allow","Resource":"*"}],"Version":"1"}`},
		"AliyunESAReadOnlyAccess": {description: "Provides read-only access to Edge Security Acceleration (ESA).",
			document: `{"Statement":[{"Action":["esa:Get*","esa:List*","esa:Describe*","esa:Check*"],"Effect":"Allow","Resource":"*"}],"Version":"1"}`},
		"AliyunYundunCertFullAccess": {description: "Provides full access to Certificate Management Service.",
			document: `{"Statement":[{"Action":"yundun-cert:*","Effect":"Allow","Resource":"*"}],"Version":"1"}`},
		"AliyunYundunCertReadOnlyAccess": {description: "Provides read-only access to Certificate Management Service.",
			document: `{"Statement":[{"Action":["yundun-cert:Describe*","yundun-cert:Get*","yundun-cert:List*"],"Effect":"Allow","Resource":"*"}],"Version":"1"}`},
		"AliyunRAMFullAccess": {description: "Provides full access to Resource Access Management (RAM).",
			document: `{"Statement":[{"Action":"ram:*","Effect":"Allow","Resource":"*"}],"Version":"1"}`},
		"AliyunRAMReadOnlyAccess": {description: "Provides read-only access to Resource Access Management (RAM).",
			document: `{"Version":"1","Statement":[{"Action":["ram:Get*","ram:List*","ram:GenerateCredentialReport"],"Resource":"*","Effect":"Allow"}]}`},
		"AliyunSTSAssumeRoleAccess": {description: "Provides access to assume RAM roles through Security Token Service (STS).",
			document: `{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Resource":"*"}],"Version":"1"}`},
	}
	for _, p := range m {
		p.compiled = policy.MustParse(p.document)
	}
	return m
}()

// systemNames are the system policies' names in order.
var systemNames = func() []string {
	var names []string
	for n := range systemPolicies {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}()

// SystemNames returns the names of the system policies, in order.
func SystemNames() []string { return append([]string(nil), systemNames...) }

// System returns the compiled document of the system policy of that name,
// or nil when there is none.
func System(name string) *policy.Policy {
	if p := systemPolicies[name]; p != nil {
		return p.compiled
	}
	return nil
}

// systemPolicy returns the system policy as a Policy and its one version.
func systemPolicyNamed(name string) (Policy, Version, bool) {
	p := systemPolicies[name]
	if p == nil {
		return Policy{}, Version{}, false
	}
	return Policy{Name: name, Type: TypeSystem, Description: p.description, DefaultVersion: "v1",
			Created: systemCreated, Updated: systemCreated},
		Version{ID: "v1", Default: true, Document: p.document, Created: systemCreated}, true
}
