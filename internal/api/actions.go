package api

import "context"

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
		"ListCiphers":                         (*Server).listCiphers,
	},
	ActionTrailVersion: {
		"LookupEvents": (*Server).lookupEvents,
	},
	CASVersion: {
		"UploadUserCertificate":    (*Server).uploadUserCertificate,
		"GetUserCertificateDetail": (*Server).getUserCertificateDetail,
		"ListUserCertificateOrder": (*Server).listUserCertificateOrder,
		"DeleteUserCertificate":    (*Server).deleteUserCertificate,
	},
}
