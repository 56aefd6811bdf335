package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/httpsconf"
	"github.com/esacert/esacert/internal/record"
	"github.com/esacert/esacert/internal/redact"
	"github.com/esacert/esacert/internal/site"
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
var table = []row{
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

	{is(errUnavailable), "ServiceUnavailable", http.StatusServiceUnavailable,
		"The request has failed due to a temporary failure of the server.",
		"Try again shortly: this node cannot reach its database.", false},

	// Sites and plans.
	{paramIs("SiteId", site.ErrSiteNotFound), "InvalidParameter.SiteId", http.StatusBadRequest,
		"Failed to query the website based on the SiteID you specified. Check parameter SiteId and try again.",
		"Call ListSites to find the SiteId.", false},
	{is(site.ErrSiteNotFound), "SiteNotFound", http.StatusNotFound,
		"The specified site is not found.", "Call ListSites to find the SiteId.", false},
	{is(site.ErrSiteExists), "Site.Duplicated", http.StatusBadRequest,
		"The site already exists.", "Choose another site name, or use the existing site.", false},
	{paramIs("InstanceId", site.ErrInstanceNotFound), "InvalidParameter.InstanceId", http.StatusBadRequest,
		"The specified plan instance does not exist.", "Call ListUserRatePlanInstances to find the InstanceId.", false},
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
		"Call ListHttpsBasicConfigurations or ListHttpsApplicationConfigurations to find the ConfigId.", false},
	{is(httpsconf.ErrGlobalConfigExists), "Config.GlobalDuplicated", http.StatusBadRequest,
		"The site already has a global configuration of this kind; a site has at most one.",
		"Update the global configuration (list with ConfigType=global to find its ConfigId), or send Rule to create a rule configuration.", false},

	// Parameters in general.
	{paramIs("", domain.ErrMissing), "MissingParameter", http.StatusBadRequest,
		"A required parameter is missing.", "Add the parameter the message names.", false},
	{paramIs("", domain.ErrInvalid), "InvalidParameter", http.StatusBadRequest,
		"The specified parameter is invalid.", "Correct the parameter the message names.", false},
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
	if r.explain {
		reason := strings.TrimPrefix(err.Error(), "certcheck: ")
		return r.message + " (" + reason + ")"
	}
	return r.message
}
