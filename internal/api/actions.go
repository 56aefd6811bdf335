package api

import (
	"context"
	"slices"

	"github.com/esacert/esacert/internal/rampolicy"
)

// action is the one shape of every API action: decode the parameters, call
// the service, return the result object (RequestId is added by the envelope).
// Actions never choose an HTTP status: errors go through the error table.
type action func(s *Server, ctx context.Context, p *params) (any, error)

// ESAVersion is the ESA OpenAPI version esacert speaks.
const ESAVersion = "2024-09-10"

// versions lists, per API version, every action esacert answers
// (testdata/actions.golden shows the list).
var versions = map[string]map[string]action{
	ESAVersion: {
		"CreateSite": (*Server).createSite,
		"GetSite":    (*Server).getSite,
		"ListSites":  (*Server).listSites,
		"DeleteSite": (*Server).deleteSite,
		"VerifySite": (*Server).verifySite,

		"PurchaseRatePlan":               (*Server).purchaseRatePlan,
		"ListUserRatePlanInstances":      (*Server).listUserRatePlanInstances,
		"DescribeRatePlanInstanceStatus": (*Server).describeRatePlanInstanceStatus,
		"UpdateRatePlanSpec":             (*Server).updateRatePlanSpec,

		"SetCertificate":           (*Server).setCertificate,
		"ApplyCertificate":         (*Server).applyCertificate,
		"GetCertificate":           (*Server).getCertificate,
		"ListCertificates":         (*Server).listCertificates,
		"DeleteCertificate":        (*Server).deleteCertificate,
		"ListCertificatesByRecord": (*Server).listCertificatesByRecord,
		"GetCertificateQuota":      (*Server).getCertificateQuota,
		"ListCasCertificates":      (*Server).listCasCertificates,

		"UploadOriginCaCertificate": (*Server).uploadOriginCaCertificate,
		"GetOriginCaCertificate":    (*Server).getOriginCaCertificate,
		"ListOriginCaCertificates":  (*Server).listOriginCaCertificates,
		"DeleteOriginCaCertificate": (*Server).deleteOriginCaCertificate,

		"UploadOriginClientCertificate":       (*Server).uploadOriginClientCertificate,
		"GetOriginClientCertificate":          (*Server).getOriginClientCertificate,
		"ListOriginClientCertificates":        (*Server).listOriginClientCertificates,
		"DeleteOriginClientCertificate":       (*Server).deleteOriginClientCertificate,
		"SetOriginClientCertificateHostnames": (*Server).setOriginClientCertificateHostnames,
		"GetOriginClientCertificateHostnames": (*Server).getOriginClientCertificateHostnames,

		"UploadSiteOriginClientCertificate": (*Server).uploadSiteOriginClientCertificate,
		"GetSiteOriginClientCertificate":    (*Server).getSiteOriginClientCertificate,
		"ListSiteOriginClientCertificates":  (*Server).listSiteOriginClientCertificates,
		"DeleteSiteOriginClientCertificate": (*Server).deleteSiteOriginClientCertificate,
		// Mutual TLS from visitors: uploaded client CAs (clientcas.go) and
		// the client certificates esacert issues (clientcerts.go).
		"UploadClientCaCertificate":       (*Server).uploadClientCaCertificate,
		"GetClientCaCertificate":          (*Server).getClientCaCertificate,
		"ListClientCaCertificates":        (*Server).listClientCaCertificates,
		"DeleteClientCaCertificate":       (*Server).deleteClientCaCertificate,
		"SetClientCaCertificateHostnames": (*Server).setClientCaCertificateHostnames,
		"GetClientCaCertificateHostnames": (*Server).getClientCaCertificateHostnames,

		"CreateClientCertificate":       (*Server).createClientCertificate,
		"GetClientCertificate":          (*Server).getClientCertificate,
		"ListClientCertificates":        (*Server).listClientCertificates,
		"RevokeClientCertificate":       (*Server).revokeClientCertificate,
		"ActivateClientCertificate":     (*Server).activateClientCertificate,
		"DeleteClientCertificate":       (*Server).deleteClientCertificate,
		"SetClientCertificateHostnames": (*Server).setClientCertificateHostnames,
		"GetClientCertificateHostnames": (*Server).getClientCertificateHostnames,

		"CreateRecord": (*Server).createRecord,
		"GetRecord":    (*Server).getRecord,
		"ListRecords":  (*Server).listRecords,
		"UpdateRecord": (*Server).updateRecord,
		"DeleteRecord": (*Server).deleteRecord,

		"BatchCreateRecords": (*Server).batchCreateRecords,

		"CreateHttpsBasicConfiguration":       (*Server).createHttpsBasicConfiguration,
		"GetHttpsBasicConfiguration":          (*Server).getHttpsBasicConfiguration,
		"ListHttpsBasicConfigurations":        (*Server).listHttpsBasicConfigurations,
		"UpdateHttpsBasicConfiguration":       (*Server).updateHttpsBasicConfiguration,
		"DeleteHttpsBasicConfiguration":       (*Server).deleteHttpsBasicConfiguration,
		"CreateHttpsApplicationConfiguration": (*Server).createHttpsApplicationConfiguration,
		"GetHttpsApplicationConfiguration":    (*Server).getHttpsApplicationConfiguration,
		"ListHttpsApplicationConfigurations":  (*Server).listHttpsApplicationConfigurations,
		"UpdateHttpsApplicationConfiguration": (*Server).updateHttpsApplicationConfiguration,
		"DeleteHttpsApplicationConfiguration": (*Server).deleteHttpsApplicationConfiguration,
		"CreateOriginRule":                    (*Server).createOriginRule,
		"GetOriginRule":                       (*Server).getOriginRule,
		"ListOriginRules":                     (*Server).listOriginRules,
		"UpdateOriginRule":                    (*Server).updateOriginRule,
		"DeleteOriginRule":                    (*Server).deleteOriginRule,
		"ListCiphers":                         (*Server).listCiphers,

		// Site settings esacert has behaviour for (sitesettings.go).
		"GetSitePause":                (*Server).getSitePause,
		"UpdateSitePause":             (*Server).updateSitePause,
		"GetIPv6":                     (*Server).getIPv6,
		"UpdateIPv6":                  (*Server).updateIPv6,
		"GetManagedTransform":         (*Server).getManagedTransform,
		"UpdateManagedTransform":      (*Server).updateManagedTransform,
		"UpdateSiteCoverage":          (*Server).updateSiteCoverage,
		"ActivateVersionManagement":   (*Server).activateVersionManagement,
		"DeactivateVersionManagement": (*Server).deactivateVersionManagement,

		// Site features esacert answers as off (sitefeatures.go).
		"GetCacheTag":        off("GetCacheTag"),
		"UpdateCacheTag":     off("UpdateCacheTag"),
		"GetCacheReserve":    off("GetCacheReserve"),
		"UpdateCacheReserve": off("UpdateCacheReserve"),
		"DescribeHttpDDoSAttackIntelligentProtection": off("DescribeHttpDDoSAttackIntelligentProtection"),
		"SetHttpDDoSAttackIntelligentProtection":      off("SetHttpDDoSAttackIntelligentProtection"),
		"GetTieredCache":                              off("GetTieredCache"),
		"UpdateTieredCache":                           off("UpdateTieredCache"),
		"GetCrossBorderOptimization":                  off("GetCrossBorderOptimization"),
		"UpdateCrossBorderOptimization":               off("UpdateCrossBorderOptimization"),
		"GetSiteNameExclusive":                        off("GetSiteNameExclusive"),
		"UpdateSiteNameExclusive":                     off("UpdateSiteNameExclusive"),
		"GetCnameFlattening":                          off("GetCnameFlattening"),
		"UpdateCnameFlattening":                       off("UpdateCnameFlattening"),
		"GetSeoBypass":                                off("GetSeoBypass"),
		"UpdateSeoBypass":                             off("UpdateSeoBypass"),
		"GetDevelopmentMode":                          off("GetDevelopmentMode"),
		"UpdateDevelopmentMode":                       off("UpdateDevelopmentMode"),
		"DescribeHttpDDoSAttackProtection":            off("DescribeHttpDDoSAttackProtection"),
		"SetHttpDDoSAttackProtection":                 off("SetHttpDDoSAttackProtection"),
		"GetAutomaticFrequencyControlConfig":          off("GetAutomaticFrequencyControlConfig"),
		"SetAutomaticFrequencyControlConfig":          off("SetAutomaticFrequencyControlConfig"),
		"GetPerformanceDataCollection":                off("GetPerformanceDataCollection"),
		"UpdatePerformanceDataCollection":             off("UpdatePerformanceDataCollection"),
		"GetSiteWafSettings":                          off("GetSiteWafSettings"),
		"EditSiteWafSettings":                         off("EditSiteWafSettings"),

		// Tags of sites (sitetags.go); RAM's actions of the same names are below.
		"ListTagResources": (*Server).listSiteTags,
		"TagResources":     (*Server).tagSites,
		"UntagResources":   (*Server).untagSites,
	},
	RAMVersion: {
		"CreateUser":         (*Server).createUser,
		"GetUser":            (*Server).getUser,
		"ListUsers":          (*Server).listUsers,
		"UpdateUser":         (*Server).updateUser,
		"DeleteUser":         (*Server).deleteUser,
		"DeleteLoginProfile": (*Server).deleteLoginProfile,
		"UnbindMFADevice":    (*Server).unbindMFADevice,

		"CreateAccessKey": (*Server).createAccessKey,
		"ListAccessKeys":  (*Server).listAccessKeys,
		"UpdateAccessKey": (*Server).updateAccessKey,
		"DeleteAccessKey": (*Server).deleteAccessKey,

		"CreateGroup":         (*Server).createGroup,
		"GetGroup":            (*Server).getGroup,
		"ListGroups":          (*Server).listGroups,
		"UpdateGroup":         (*Server).updateGroup,
		"DeleteGroup":         (*Server).deleteGroup,
		"AddUserToGroup":      (*Server).addUserToGroup,
		"RemoveUserFromGroup": (*Server).removeUserFromGroup,
		"ListGroupsForUser":   (*Server).listGroupsForUser,
		"ListUsersForGroup":   (*Server).listUsersForGroup,

		"CreatePolicy":            (*Server).createPolicy,
		"GetPolicy":               (*Server).getPolicy,
		"ListPolicies":            (*Server).listPolicies,
		"UpdatePolicyDescription": (*Server).updatePolicyDescription,
		"DeletePolicy":            (*Server).deletePolicy,
		"CreatePolicyVersion":     (*Server).createPolicyVersion,
		"GetPolicyVersion":        (*Server).getPolicyVersion,
		"ListPolicyVersions":      (*Server).listPolicyVersions,
		"DeletePolicyVersion":     (*Server).deletePolicyVersion,
		"SetDefaultPolicyVersion": (*Server).setDefaultPolicyVersion,
		"AttachPolicyToUser":      attach(rampolicy.KindUser),
		"AttachPolicyToGroup":     attach(rampolicy.KindGroup),
		"AttachPolicyToRole":      attach(rampolicy.KindRole),
		"DetachPolicyFromUser":    detach(rampolicy.KindUser),
		"DetachPolicyFromGroup":   detach(rampolicy.KindGroup),
		"DetachPolicyFromRole":    detach(rampolicy.KindRole),
		"ListPoliciesForUser":     policiesFor(rampolicy.KindUser),
		"ListPoliciesForGroup":    policiesFor(rampolicy.KindGroup),
		"ListPoliciesForRole":     policiesFor(rampolicy.KindRole),
		"ListEntitiesForPolicy":   (*Server).listEntitiesForPolicy,

		"CreateRole": (*Server).createRole,
		"GetRole":    (*Server).getRole,
		"ListRoles":  (*Server).listRoles,
		"UpdateRole": (*Server).updateRole,
		"DeleteRole": (*Server).deleteRole,

		"ListTagResources": (*Server).listTagResources,
		"TagResources":     (*Server).tagResources,
		"UntagResources":   (*Server).untagResources,

		"GetAccountAlias": (*Server).getAccountAlias,
		"SetAccountAlias": (*Server).setAccountAlias,

		"DecodeDiagnosticMessage": (*Server).decodeDiagnosticMessage,
	},
	BSSVersion: {
		"RefundInstance":          (*Server).refundInstance,
		"QueryAvailableInstances": (*Server).queryAvailableInstances,
	},
	ActionTrailVersion: {
		"LookupEvents": (*Server).lookupEvents,
	},
	STSVersion: {
		"AssumeRole":        (*Server).assumeRole,
		"GetCallerIdentity": (*Server).getCallerIdentity,
	},
	CASVersion: {
		"UploadUserCertificate":    (*Server).uploadUserCertificate,
		"GetUserCertificateDetail": (*Server).getUserCertificateDetail,
		"ListUserCertificateOrder": (*Server).listUserCertificateOrder,
		"DeleteUserCertificate":    (*Server).deleteUserCertificate,
	},
}

// Product is one API esacert answers on its endpoint: the product's name as
// Alibaba Cloud calls it, its version, and its actions in sorted order.
type Product struct {
	Name    string
	Version string
	Actions []string
}

// productNames names the product of each version, in the order Products
// lists them (a test checks that every version is here).
var productNames = []struct{ version, name string }{
	{ESAVersion, "ESA"},
	{CASVersion, "CAS"},
	{RAMVersion, "RAM"},
	{STSVersion, "STS"},
	{ActionTrailVersion, "ActionTrail"},
	{BSSVersion, "BssOpenApi"},
}

// Products returns every API esacert answers, ESA first. The result is the
// caller's to keep; it is built anew on each call.
func Products() []Product {
	out := make([]Product, 0, len(productNames))
	for _, pn := range productNames {
		p := Product{Name: pn.name, Version: pn.version}
		for a := range versions[pn.version] {
			p.Actions = append(p.Actions, a)
		}
		slices.Sort(p.Actions)
		out = append(out, p)
	}
	return out
}
