package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/clientca"
	"github.com/esacert/esacert/internal/clientcert"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/group"
	"github.com/esacert/esacert/internal/httpsconf"
	"github.com/esacert/esacert/internal/identity"
	"github.com/esacert/esacert/internal/origincert"
	"github.com/esacert/esacert/internal/policy"
	"github.com/esacert/esacert/internal/rampolicy"
	"github.com/esacert/esacert/internal/record"
	"github.com/esacert/esacert/internal/redact"
	"github.com/esacert/esacert/internal/role"
	"github.com/esacert/esacert/internal/session"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/sitesetting"
	"github.com/esacert/esacert/internal/user"
)

// Errors of the request envelope. Like the domain's sentinels they are mapped
// to a Code and a status only in the table below.
var (
	errBodyTooLarge      = errors.New("request body too large")
	errBodyTooSlow       = errors.New("request body arrived too slowly")
	errBadForm           = errors.New("malformed parameters")
	errBodyType          = errors.New("unsupported body content type")
	errMethod            = errors.New("unsupported HTTP method")
	errNoSignature       = errors.New("request is not signed")
	errIncompleteSig     = errors.New("incomplete signature")
	errUnknownKey        = errors.New("unknown access key id")
	errSignatureMismatch = errors.New("signature does not match")
	errTimestampExpired  = errors.New("timestamp outside the allowed window")
	errNonceUsed         = errors.New("signature nonce already used")
	errUnknownAction     = errors.New("unknown action")
	errUnknownVersion    = errors.New("unknown version")
	errUnavailable       = errors.New("the node cannot reach its database")
	// errResourceNotExists marks a missing resource of a BssOpenApi action,
	// which answers its own Code for it.
	errResourceNotExists = errors.New("bss resource does not exist")
)

// sigError carries the server's string to sign with errSignatureMismatch, so
// that a client can tell a wrong secret from a signing bug. It is set only
// when the string holds no secret material.
type sigError struct {
	stringToSign string
	detail       string
}

func (e *sigError) Error() string { return errSignatureMismatch.Error() + ": " + e.detail }
func (e *sigError) Unwrap() error { return errSignatureMismatch }

// detailError adds a public detail to an envelope error.
type detailError struct {
	err    error
	detail string
}

func (e *detailError) Error() string { return e.err.Error() + ": " + e.detail }
func (e *detailError) Unwrap() error { return e.err }

func withDetail(err error, format string, args ...any) error {
	return &detailError{err: err, detail: fmt.Sprintf(format, args...)}
}

// A row maps the errors that match to one Code, HTTP status and public
// message. message may be refined by detail, which sees the matched error.
type row struct {
	match     func(error) bool
	code      string
	status    int
	message   string
	recommend string
	// explain appends the error's own text, which for these rows is a
	// public reason by contract (certcheck never puts key material in it).
	explain bool
}

func is(targets ...error) func(error) bool {
	return func(err error) bool {
		for _, t := range targets {
			if errors.Is(err, t) {
				return true
			}
		}
		return false
	}
}

// paramIs matches a ParamError naming param (any parameter when "") whose
// cause is target.
func paramIs(param string, target error) func(error) bool {
	return func(err error) bool {
		var pe *domain.ParamError
		return errors.As(err, &pe) && (param == "" || pe.Param == param) && errors.Is(pe.Err, target)
	}
}

// table is THE error table: the only place where an error becomes a Code and
// an HTTP status. Rows are tried in order; the first match wins. An error
// that matches no row is an InternalException, and its text is only logged.
// Codes are added, never renamed (testdata/errors.golden shows the table).
var table = slices.Concat([]row{
	// The envelope.
	{is(errMethod), "UnsupportedHTTPMethod", http.StatusForbidden,
		"This http method is not supported.", "Send the request with GET or POST.", false},
	{is(errBodyTooLarge), "InvalidParameter", http.StatusBadRequest,
		"The request body is larger than 1 MiB.", "Send a smaller request.", false},
	{is(errBodyTooSlow), "InvalidParameter", http.StatusRequestTimeout,
		"The request body arrived too slowly: the server stopped waiting for it.",
		"Send the whole request at once, without pauses; check the network between the client and the endpoint.", false},
	{is(errBodyType), "InvalidParameter", http.StatusBadRequest,
		"The request body must be application/x-www-form-urlencoded.", "Send parameters in the query or as a form body.", false},
	{is(errBadForm), "InvalidParameter", http.StatusBadRequest,
		"The request parameters are not validly URL-encoded.", "Percent-encode every parameter name and value.", false},
	{is(errNoSignature), "MissingParameter", http.StatusBadRequest,
		"The request is not signed: it has neither an Authorization header nor a Signature parameter.",
		"Sign the request with an AccessKey (ACS3-HMAC-SHA256 or HMAC-SHA1).", false},
	{is(errIncompleteSig), "IncompleteSignature", http.StatusBadRequest,
		"The request signature does not conform to Aliyun standards.", "Use an official Alibaba Cloud SDK or CLI to sign requests.", false},
	{is(errUnknownKey), "InvalidAccessKeyId.NotFound", http.StatusNotFound,
		"The Access Key ID provided does not exist in our records.", "Check the AccessKeyId your client is configured with.", false},
	{is(session.ErrTokenMissing), "MissingSecurityToken", http.StatusBadRequest,
		"SecurityToken is mandatory for this action.", "Send the SecurityToken that came with the STS credentials.", false},
	{is(session.ErrTokenMalformed), "InvalidSecurityToken.Malformed", http.StatusBadRequest,
		"Specified SecurityToken is malformed.", "Send the SecurityToken exactly as AssumeRole answered it.", false},
	{is(session.ErrTokenExpired), "InvalidSecurityToken.Expired", http.StatusBadRequest,
		"Specified SecurityToken is expired.", "Call AssumeRole again for new credentials.", false},
	{is(session.ErrTokenMismatch), "InvalidSecurityToken.MismatchWithAccessKey", http.StatusBadRequest,
		"Specified SecurityToken mismatch with the AccessKey.", "Send the SecurityToken that came with this AccessKeyId.", false},
	{is(identity.ErrKeyInactive), "InvalidAccessKeyId.Inactive", http.StatusBadRequest,
		"Specified access key is disabled.", "Ask the account's administrator to enable the key (UpdateAccessKey Status=Active), or use another.", false},
	{is(errSignatureMismatch), "SignatureDoesNotMatch", http.StatusBadRequest,
		"Specified signature does not match our calculation.", "Check that your AccessKeySecret is correct.", false},
	{is(errTimestampExpired), "InvalidTimeStamp.Expired", http.StatusBadRequest,
		"Specified time stamp or date value is expired.", "Check the clock of the machine that sends the request.", false},
	{is(errNonceUsed), "SignatureNonceUsed", http.StatusBadRequest,
		"Specified signature nonce was used already.", "Use a new random SignatureNonce for every request.", false},
	{is(errUnknownVersion), "InvalidVersion", http.StatusBadRequest,
		"Specified parameter Version is not valid.", "Use version 2024-09-10 for ESA.", false},
	{is(errUnknownAction), "InvalidAction.NotFound", http.StatusNotFound,
		"Specified api is not found, please check your url and method.", "Check the action name and the API version.", false},

	// STS (2015-04-01).
	{is(session.ErrRootCaller), "NoPermission", http.StatusForbidden,
		"Roles may not be assumed by root accounts.", "Call AssumeRole with a RAM user's key or a role session's credentials.", false},
	{is(session.ErrNotTrusted), "NoPermission", http.StatusForbidden,
		"No permission perform sts:AssumeRole on this Role. Maybe you should check the role's trust policy.",
		"Add the caller to the Principal of the role's AssumeRolePolicyDocument (UpdateRole).", false},
	{paramIs("RoleArn", domain.ErrInvalid), "InvalidParameter.RoleArn", http.StatusBadRequest,
		"The parameter RoleArn is wrongly formed.", "Send acs:ram::<account id>:role/<role name>.", false},
	{paramIs("RoleSessionName", domain.ErrInvalid), "InvalidParameter.RoleSessionName", http.StatusBadRequest,
		"The parameter RoleSessionName is wrongly formed.", "Send 2 to 64 letters, digits and . @ - _.", false},
	{paramIs("DurationSeconds", domain.ErrInvalid), "InvalidParameter.DurationSeconds", http.StatusBadRequest,
		"The Min/Max value of DurationSeconds is 15min/the role's MaxSessionDuration.", "Send 900 up to the role's MaxSessionDuration.", false},
	{paramIs("Policy", session.ErrPolicySize), "InvalidParameter.PolicySize", http.StatusBadRequest,
		"The size of Policy must be smaller than 2048 bytes.", "Send a shorter session policy.", false},
	{paramIs("Policy", session.ErrPolicyGrammar), "InvalidParameter.PolicyGrammar", http.StatusBadRequest,
		"The parameter Policy has not passed grammar check.", "Correct what the message names; see the policy language in the README.", false},

	// A request the caller's policies do not allow: RAM and STS answer
	// their own actions with NoPermission, the other services (ESA, the
	// certificate repository, ActionTrail) with Forbidden.RAM; both with
	// the AccessDeniedDetail object (see writeError).
	{deniedIn("ram", "sts"), "NoPermission", http.StatusForbidden,
		"You are not authorized to do this action. You should be authorized by RAM.",
		"Ask the account's administrator for a policy that allows the action on the resource (AccessDeniedDetail says which).", false},
	{is(errDenied), "Forbidden.RAM", http.StatusForbidden,
		"User not authorized to operate on the specified resource, or this API doesn't support RAM.",
		"Ask the account's administrator for a policy that allows the action on the resource (AccessDeniedDetail says which).", false},

	{is(errUnavailable), "ServiceUnavailable", http.StatusServiceUnavailable,
		"The request has failed due to a temporary failure of the server.",
		"Try again shortly: this node cannot reach its database.", false},

	// Sites and plans.
	{paramIs("SiteId", site.ErrSiteNotFound), "InvalidParameter.SiteId", http.StatusBadRequest,
		"Failed to query the website based on the SiteID you specified. Check parameter SiteId and try again.",
		"Call ListSites to find the SiteId.", false},
	{is(site.ErrSiteNotFound), "SiteNotFound", http.StatusNotFound,
		"The specified site is not found.", "Call ListSites to find the SiteId.", false},
	// A site feature esacert has no behaviour for (sitefeatures.go): never
	// accepted and ignored.
	{paramIs("", sitesetting.ErrUnsupported), "Feature.NotSupported", http.StatusBadRequest,
		"esacert does not support this feature, so it stays off.",
		"Leave the parameter the message names out, or send the value it names (the feature's off state).", false},
	{is(site.ErrSiteExists), "Site.Duplicated", http.StatusBadRequest,
		"The site already exists.", "Choose another site name, or use the existing site.", false},
	{paramIs("InstanceId", site.ErrInstanceNotFound), "InvalidParameter.InstanceId", http.StatusBadRequest,
		"The specified plan instance does not exist.", "Call ListUserRatePlanInstances to find the InstanceId.", false},
	{is(errResourceNotExists), "ResourceNotExists", http.StatusNotFound,
		"The specified instance does not exist.", "Call ListUserRatePlanInstances to find the InstanceId.", false},
	{is(site.ErrInstanceInUse), "InvalidParameter", http.StatusBadRequest,
		"The plan instance still has sites, so it cannot be refunded.",
		"Delete the sites (DeleteSite) named in the message first, then refund the instance.", true},
	{is(site.ErrInstanceNotFound), "InvalidInstanceId.NotFound", http.StatusNotFound,
		"The specified plan instance does not exist.", "Call ListUserRatePlanInstances to find the InstanceId.", false},
	{is(site.ErrSiteQuota), "QuotaExceed.Site", http.StatusBadRequest,
		"The plan instance has no site quota left.", "Purchase another plan instance with PurchaseRatePlan.", false},

	// Certificates (SetCertificate.md's table) and the repository.
	{paramIs("Certificate", domain.ErrMissing), "Certificate.MissingParameter", http.StatusBadRequest,
		"The Certificate parameter is required.", "Send the certificate PEM in Certificate when Type is upload.", false},
	{paramIs("PrivateKey", domain.ErrMissing), "PrivateKey.MissingParameter", http.StatusBadRequest,
		"The PrivateKey parameter is required.", "Send the private key PEM in PrivateKey when Type is upload.", false},
	{paramIs("CasId", domain.ErrMissing), "CasId.MissingParameter", http.StatusBadRequest,
		"The CasId parameter is required.", "Send the repository certificate id in CasId when Type is cas.", false},
	{paramIs("CasId", cert.ErrRepoCertNotFound), "InvalidCertificate.NotFound", http.StatusBadRequest,
		"The specified certificate does not match the website. Check the validity of the certificate and try again.",
		"Call ListCasCertificates to find the CasId and its Region.", false},
	{is(cert.ErrRepoCertNotFound), "NotFound", http.StatusNotFound,
		"The specified certificate does not exist.", "Call ListUserCertificateOrder with OrderType=UPLOAD to find the CertId.", false},
	{is(cert.ErrRepoNameExists), "NameRepeat", http.StatusBadRequest,
		"The certificate name already exists.", "Choose another Name.", false},
	{is(certcheck.ErrNoCertificate, certcheck.ErrBadCertificate, certcheck.ErrUnexpectedBlock, certcheck.ErrBadChain,
		certcheck.ErrBadName, certcheck.ErrStrayData, certcheck.ErrCertTooLarge),
		"InvalidSSLPub", http.StatusBadRequest, "The specified Certificate is invalid.",
		"Send the leaf certificate and its intermediates as PEM, and nothing else (at most 64 KiB, 10 certificates and 100 names).", true},
	{is(certcheck.ErrNoKey, certcheck.ErrBadKey, certcheck.ErrEncryptedKey, certcheck.ErrWeakKey, certcheck.ErrUnsupportedKey,
		certcheck.ErrKeyTooLarge),
		"InvalidSSLPri", http.StatusBadRequest, "The specified PrivateKey is invalid.",
		"Send one unencrypted RSA (2048 to 4096 bits), ECDSA (P-256, P-384, P-521) or Ed25519 key as PEM.", true},
	{is(certcheck.ErrKeyMismatch), "CertificateNotMatchPrivateKey", http.StatusBadRequest,
		"The specified certificate does not match the private key.", "Send the private key of the leaf certificate.", false},
	{is(certcheck.ErrExpired, certcheck.ErrNotYetValid, cert.ErrBadState), "Certificate.StatusError", http.StatusBadRequest,
		"The status of the certificate is invalid.", "Use a certificate that is valid now.", true},
	{is(cert.ErrNameNotInSite), "CertificateDomainNotMatchSite", http.StatusBadRequest,
		"The domain name in the specified certificate does not match the site.",
		"Use a certificate for the site name or names under it.", false},
	{is(cert.ErrCertNameExists, cert.ErrCasDuplicate), "Certificate.Duplicated", http.StatusBadRequest,
		"The certificate name already exists.", "Choose another Name, or update the existing certificate with its Id.", true},
	{is(cert.ErrCertQuota), "CertQuotaCheckFailed", http.StatusBadRequest,
		"The custom certificate quota verification failed. The number of uploaded certificates exceeds the upper limit allowed for the plan.",
		"Delete a certificate of the site, or move the site to a larger plan.", false},
	{is(cert.ErrFreeNotUpdatable), "UpdateFreeCertificate.NotSupport", http.StatusBadRequest,
		"The free certificate does not support the update operation.", "Free certificates renew by themselves; upload a custom certificate instead.", false},
	{is(cert.ErrSiteNotActive), "SiteNotActivated", http.StatusBadRequest,
		"The site is not activated, the process is not allowed.", "Activate the site before applying for certificates.", false},
	{is(cert.ErrFreeQuota), "FreeCertQuotaCheckFailed", http.StatusBadRequest,
		"The free certificate quota verification failed. The number of free certificates exceeds the upper limit allowed for the plan.",
		"Delete a free certificate of the site, or move the site to a larger plan.", false},
	{is(cert.ErrCertNotFound), "Certificate.NotFound", http.StatusNotFound,
		"The specified certificate does not exist.", "Call ListCertificates to find the certificate Id.", false},
	{is(origincert.ErrNameExists), "Certificate.Duplicated", http.StatusBadRequest,
		"The certificate name already exists.", "Choose another Name, or delete the existing origin certificate first.", true},
	{is(origincert.ErrNotFound), "Certificate.NotFound", http.StatusNotFound,
		"The specified certificate does not exist.",
		"Call the List action of its family (ListOriginCaCertificates, ListOriginClientCertificates or ListSiteOriginClientCertificates) to find the certificate Id.", false},
	// Mutual TLS from visitors: client CA and client certificates.
	{is(clientca.ErrNameExists), "Certificate.Duplicated", http.StatusBadRequest,
		"The certificate name already exists.", "Choose another Name, or delete the existing client CA certificate first.", false},
	{is(clientca.ErrNotCA), "InvalidSSLPub", http.StatusBadRequest, "The specified Certificate is not a CA certificate.",
		"Upload the CA that issues the client certificates (basic constraints CA:TRUE), not a client certificate.", false},
	{is(clientca.ErrNotFound), "Certificate.NotFound", http.StatusNotFound,
		"The specified certificate does not exist.", "Call ListClientCaCertificates to find the certificate Id.", false},
	{is(clientcert.ErrNotFound), "Certificate.NotFound", http.StatusNotFound,
		"The specified certificate does not exist.",
		"Call ListClientCertificates to find the certificate Id (and its CACertificateId for the hostname actions).", false},

	// DNS records. Record.NotFound is a 404, which the Terraform provider's
	// NotFoundError reads as "gone".
	{is(record.ErrRecordNotFound), "Record.NotFound", http.StatusNotFound,
		"The specified record does not exist.", "Call ListRecords to find the RecordId.", false},
	{is(record.ErrRecordDuplicate), "Record.RecordNameConflictWithSameRecordType", http.StatusBadRequest,
		"A record with the same name, type and value already exists.",
		"Update the existing record, or give this one another name or value.", false},
	{is(record.ErrRecordTypeConflict), "Record.RecordNameConflictForSpecifiedRecordType", http.StatusBadRequest,
		"The record name already has a record of a conflicting type: A/AAAA and CNAME records cannot share a name, and a name has at most one CNAME record.",
		"Delete the conflicting record first, or use another record name.", false},
	{is(record.ErrRecordConflict), "Record.Conflict", http.StatusBadRequest,
		"The record conflicts with another record of the site.", "Call ListRecords to find the conflicting record.", false},

	// HTTPS configurations. Config.NotFound is a 404, which the Terraform
	// provider's NotFoundError reads as "gone".
	{is(httpsconf.ErrConfigNotFound), "Config.NotFound", http.StatusNotFound,
		"The specified configuration does not exist.",
		"Call ListHttpsBasicConfigurations, ListHttpsApplicationConfigurations or ListOriginRules to find the ConfigId.", false},
	{is(httpsconf.ErrGlobalConfigExists), "Config.GlobalDuplicated", http.StatusBadRequest,
		"The site already has a global configuration of this kind; a site has at most one.",
		"Update the global configuration (list with ConfigType=global to find its ConfigId), or send Rule to create a rule configuration.", false},

	// RAM (2015-05-01): users, access keys, groups, policies, roles. Codes and
	// messages are RAM's (misspellings included: clients match on them).
	{is(user.ErrUserNotFound), "EntityNotExist.User", http.StatusNotFound,
		"The user does not exist.", "Call ListUsers to find the UserName.", false},
	{is(user.ErrUserExists), "EntityAlreadyExists.User", http.StatusConflict,
		"The user does already EXIST.", "Choose another UserName.", false},
	{is(user.ErrUserLimit), "LimitExceeded.User", http.StatusConflict,
		"The count of users beyond the current limits.", "Delete users that are no longer needed.", false},
	{is(user.ErrHasAccessKey), "DeleteConflict.User.AccessKey", http.StatusConflict,
		"The user CAN NOT has any access key while deleting the user.", "Delete the user's access keys first (ListAccessKeys).", false},
	{is(user.ErrInGroup), "DeleteConflict.User.Group", http.StatusConflict,
		"The user CAN NOT join any group while deleting the user.", "Remove the user from its groups first (ListGroupsForUser).", false},
	{is(user.ErrHasPolicy), "DeleteConflict.User.Policy", http.StatusConflict,
		"The user CAN NOT has any attached policy while deleting the user.", "Detach the user's policies first (ListPoliciesForUser).", false},
	{is(user.ErrNoLoginProfile), "EntityNotExist.User.LoginProfile", http.StatusNotFound,
		"The user login profile does not exist.", "esacert users have no console password: there is nothing to delete.", false},
	{is(user.ErrNoMFADevice), "EntityNotExist.User.MFADevice", http.StatusNotFound,
		"The user has not bound any MFA device.", "esacert users have no MFA device: there is nothing to unbind.", false},
	{is(accesskey.ErrKeyNotFound), "EntityNotExist.User.AccessKey", http.StatusNotFound,
		"The user access key does not exist.", "Call ListAccessKeys to find the AccessKeyId.", false},
	{is(accesskey.ErrKeyLimit), "LimitExceeded.User.AccessKey", http.StatusConflict,
		"The count of access keys of the user beyond the current limits.", "A user has at most 2 access keys: delete one first.", false},
	{is(group.ErrGroupNotFound), "EntityNotExist.Group", http.StatusNotFound,
		"The group does not exist.", "Call ListGroups to find the GroupName.", false},
	{is(group.ErrGroupExists), "EntityAlreadyExists.Group", http.StatusConflict,
		"The group does already EXIST.", "Choose another GroupName.", false},
	{is(group.ErrGroupLimit), "LimitExceeded.Group", http.StatusConflict,
		"The count of groups beyond the current limits.", "Delete groups that are no longer needed.", false},
	{is(group.ErrMember), "EntityAlreadyExists.User.Group", http.StatusConflict,
		"The user has already joined the group.", "Nothing to do: the user is a member.", false},
	{is(group.ErrNotMember), "EntityNotExist.User.Group", http.StatusNotFound,
		"The user has not joined the group.", "Call ListGroupsForUser to see the user's groups.", false},
	{is(group.ErrMembershipLimit), "LimitExceeded.User.Group", http.StatusConflict,
		"The count of groups of the user beyond the current limits.", "A user is in at most 5 groups: remove it from one first.", false},
	{is(group.ErrHasMembers), "DeleteConflict.Group.User", http.StatusConflict,
		"The group CAN NOT has any user member while deleting the group.", "Remove the group's members first (ListUsersForGroup).", false},
	{is(group.ErrHasPolicy), "DeleteConflict.Group.Policy", http.StatusConflict,
		"The entity CAN NOT has any attached policy while deleting the entity.", "Detach the group's policies first (ListPoliciesForGroup).", false},
	{is(policy.ErrMalformed), "MalformedPolicyDocument", http.StatusBadRequest,
		"The policy document is malformed.", "Correct what the message names; see the policy language in the README.", true},
	{is(rampolicy.ErrSystemPolicy), "EntityNotExist.Policy", http.StatusNotFound,
		"The policy does not exist: system policies are read-only, only custom policies are changed or deleted.",
		"Create a custom policy (CreatePolicy) to change what it grants.", false},
	{is(rampolicy.ErrPolicyNotFound), "EntityNotExist.Policy", http.StatusNotFound,
		"The policy does not exist.", "Call ListPolicies to find the PolicyName and PolicyType.", false},
	{is(rampolicy.ErrPolicyExists), "EntityAlreadyExists.Policy", http.StatusConflict,
		"The policy does already EXIST.", "Choose another PolicyName (system policies' names are taken).", false},
	{is(rampolicy.ErrPolicyLimit), "LimitExceeded.Policy", http.StatusConflict,
		"The count of policies beyond the current limits.", "Delete custom policies that are no longer needed.", false},
	{is(rampolicy.ErrVersionNotFound), "EntityNotExist.Policy.Version", http.StatusNotFound,
		"The policy version does not exist.", "Call ListPolicyVersions to find the VersionId.", false},
	{is(rampolicy.ErrVersionLimit), "LimitExceeded.Policy.Version", http.StatusConflict,
		"The count of versions of the policy beyond the current limits.",
		"A policy has at most 5 versions: delete one, or send RotateStrategy=DeleteOldestNonDefaultVersionWhenLimitExceeded.", false},
	{is(rampolicy.ErrDefaultVersion), "DeleteConflict.Policy.Version.Default", http.StatusConflict,
		"The default policy version CAN NOT been deleted directly.", "Make another version the default first (SetDefaultPolicyVersion).", false},
	{is(rampolicy.ErrAttachedToUser), "DeleteConflict.Policy.User", http.StatusConflict,
		"The policy CAN NOT been attached to any user while deleting the policy.", "Detach it first (ListEntitiesForPolicy).", false},
	{is(rampolicy.ErrAttachedToGroup), "DeleteConflict.Policy.Group", http.StatusConflict,
		"The policy CAN NOT been attached to any group while deleting the policy.", "Detach it first (ListEntitiesForPolicy).", false},
	{is(rampolicy.ErrAttachedToRole, role.ErrHasPolicy), "DeleteConflict.Role.Policy", http.StatusConflict,
		"The role CAN NOT has any attached policy while deleting the role.", "Detach the policy from the role first (ListPoliciesForRole).", false},
	{is(rampolicy.ErrHasVersions), "DeleteConflict.Policy.Version", http.StatusConflict,
		"The policy CAN NOT has any version except the default version.", "Delete its other versions first, or send CascadingDelete=true.", false},
	{is(rampolicy.ErrUserAttached), "EntityAlreadyExists.User.Policy", http.StatusConflict,
		"The user has already been attached this policy.", "Nothing to do: the policy is attached.", false},
	{is(rampolicy.ErrGroupAttached), "EntityAlreadyExists.Group.Policy", http.StatusConflict,
		"The group has already been attached this policy.", "Nothing to do: the policy is attached.", false},
	{is(rampolicy.ErrRoleAttached), "EntityAlreadyExists.Role.Policy", http.StatusConflict,
		"The role has already been attached this policy.", "Nothing to do: the policy is attached.", false},
	{is(rampolicy.ErrUserNotAttached), "EntityNotExist.User.Policy", http.StatusNotFound,
		"The indicate policy of the user does not exist.", "Call ListPoliciesForUser.", false},
	{is(rampolicy.ErrGroupNotAttached), "EntityNotExist.Group.Policy", http.StatusNotFound,
		"The indicate policy attached to the group does not exist.", "Call ListPoliciesForGroup.", false},
	{is(rampolicy.ErrRoleNotAttached), "EntityNotExist.Role.Policy", http.StatusNotFound,
		"The indicate policy attached to the role does not exist.", "Call ListPoliciesForRole.", false},
	{is(rampolicy.ErrUserPolicyLimit), "LimitExceeded.User.Policy", http.StatusConflict,
		"The count of policies attached to the user beyond the current limits.", "Detach policies the user no longer needs.", false},
	{is(rampolicy.ErrGroupPolicyLimit), "LimitExceeded.Group.Policy", http.StatusConflict,
		"The count of policies attached to the group beyond the current limits.", "Detach policies the group no longer needs.", false},
	{is(rampolicy.ErrRolePolicyLimit), "LimitExceeded.Role.Policy", http.StatusConflict,
		"The count of policies attached to the role beyond the current limits.", "Detach policies the role no longer needs.", false},
	{is(role.ErrRoleNotFound), "EntityNotExist.Role", http.StatusNotFound,
		"The role does not exist.", "Call ListRoles to find the RoleName.", false},
	{is(role.ErrRoleExists), "EntityAlreadyExists.Role", http.StatusConflict,
		"The role does already EXIST.", "Choose another RoleName.", false},
	{is(role.ErrRoleLimit), "LimitExceeded.Role", http.StatusConflict,
		"The count of roles beyond the current limits.", "Delete roles that are no longer needed.", false},
	{is(domain.ErrTagLimit), "LimitExceeded.Tag", http.StatusConflict,
		"The count of tags of the resource beyond the current limits.", "A resource has at most 20 tags: remove some first.", false},
	{paramIs("PolicyType", domain.ErrInvalid), "InvalidParameter.PolicyType", http.StatusBadRequest,
		`The parameter - "PolicyType" is incorrect.`, "Send System or Custom.", false},
}, ramParamRows(
	[]string{"UserName", "NewUserName", "DisplayName", "NewDisplayName", "Comments", "NewComments", "GroupName",
		"NewGroupName", "PolicyName", "PolicyDocument", "Description", "NewDescription", "RoleName",
		"AssumeRolePolicyDocument", "NewAssumeRolePolicyDocument", "AccountAlias"},
	[]string{"UserName", "NewUserName", "DisplayName", "NewDisplayName", "GroupName", "NewGroupName", "PolicyName", "RoleName"},
	[]string{"Email", "NewEmail", "MobilePhone", "NewMobilePhone", "VersionId", "AccountAlias"},
), []row{
	// Parameters in general.
	{paramIs("", domain.ErrMissing), "MissingParameter", http.StatusBadRequest,
		"A required parameter is missing.", "Add the parameter the message names.", false},
	{paramIs("", domain.ErrInvalid), "InvalidParameter", http.StatusBadRequest,
		"The specified parameter is invalid.", "Correct the parameter the message names.", false},
})

// ramParamRows are RAM's rows for a parameter that is too long (or empty),
// holds characters it may not, or has the wrong form:
// InvalidParameter.<Param>.Length, .InvalidChars and .Format, in that
// order, for the parameters listed with each.
func ramParamRows(length, chars, format []string) []row {
	var out []row
	for _, c := range []struct {
		params       []string
		cause        error
		suffix, what string
		recommend    string
	}{
		{length, domain.ErrTooLong, "Length", "beyond the length limit", "Send a value of the length the message names."},
		{chars, domain.ErrBadChars, "InvalidChars", "contains invalid chars", "Send only the characters the message names."},
		{format, domain.ErrBadFormat, "Format", "is incorrect", "Send a value of the form the message names."},
	} {
		for _, p := range c.params {
			msg := fmt.Sprintf("The parameter - %q %s.", p, c.what)
			if c.suffix == "Format" {
				msg = fmt.Sprintf("The format of the parameter - %q %s.", p, c.what)
			}
			out = append(out, row{paramIs(p, c.cause), "InvalidParameter." + p + "." + c.suffix, http.StatusBadRequest,
				msg, c.recommend, false})
		}
	}
	return out
}

// internalRow answers every error that matches no row.
var internalRow = row{nil, "InternalException", http.StatusBadRequest,
	"Failed to call the service. Try again later or contact technical support.", "Try again later.", false}

// lookup finds the row for err and the public message to send with it.
func lookup(err error) (row, string) {
	for _, r := range table {
		if r.match(err) {
			return r, publicMessage(r, err)
		}
	}
	return internalRow, internalRow.message
}

// maxParamInMessage bounds a parameter name quoted in a message: a name
// may come from the client (a field of BatchCreateRecords' RecordList).
const maxParamInMessage = 128

// publicMessage refines a row's message with what the error says publicly:
// the parameter name and reason of a ParamError, the detail of an envelope
// error, the server's string to sign (only when no parameter could carry a
// secret; see echoable). It never includes other error text, nor the value
// of any parameter: a ParamError's Reason is public by contract and never
// quotes a secret-bearing parameter (redact.IsSecret), whose values no
// message shows.
func publicMessage(r row, err error) string {
	var pe *domain.ParamError
	if errors.As(err, &pe) && strings.HasPrefix(r.code, "InvalidParameter.") && pe.Reason != "" {
		return r.message + " (" + pe.Reason + ")"
	}
	if errors.As(err, &pe) && (r.code == "MissingParameter" || r.code == "InvalidParameter") {
		param := redact.Clean(pe.Param, maxParamInMessage)
		if errors.Is(pe.Err, domain.ErrMissing) {
			return fmt.Sprintf("The parameter %s is required.", param)
		}
		msg := fmt.Sprintf("The specified parameter %s is invalid.", param)
		if pe.Reason != "" {
			msg = fmt.Sprintf("The specified parameter %s is invalid: %s.", param, pe.Reason)
		}
		return msg
	}
	if errors.As(err, &pe) && errors.Is(pe.Err, sitesetting.ErrUnsupported) {
		return fmt.Sprintf("%s Parameter %s: %s.", r.message, redact.Clean(pe.Param, maxParamInMessage), pe.Reason)
	}
	var se *sigError
	if errors.As(err, &se) {
		msg := r.message
		if se.detail != "" {
			msg += " " + se.detail
		}
		if se.stringToSign != "" {
			msg += " server string to sign is:" + se.stringToSign
		}
		return msg
	}
	var de *detailError
	if errors.As(err, &de) {
		return r.message + " " + de.detail
	}
	var denied *deniedError
	if errors.As(err, &denied) {
		return denied.message(r.message)
	}
	if r.explain {
		reason := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "certcheck: "), policy.ErrMalformed.Error()+": ")
		return r.message + " (" + reason + ")"
	}
	return r.message
}
