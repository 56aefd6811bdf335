package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/esacert/esacert/internal/cert"
)

// Errors of the request envelope. Like the domain's sentinels they are mapped
// to a Code and a status only in the table below.
var (
	errBodyTooLarge      = errors.New("request body too large")
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
}

func is(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}

// paramIs matches a ParamError naming param (any parameter when "") whose
// cause is target.
func paramIs(param string, target error) func(error) bool {
	return func(err error) bool {
		var pe *cert.ParamError
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
		"This http method is not supported.", "Send the request with GET or POST."},
	{is(errBodyTooLarge), "InvalidParameter", http.StatusBadRequest,
		"The request body is larger than 1 MiB.", "Send a smaller request."},
	{is(errBodyType), "InvalidParameter", http.StatusBadRequest,
		"The request body must be application/x-www-form-urlencoded.", "Send parameters in the query or as a form body."},
	{is(errBadForm), "InvalidParameter", http.StatusBadRequest,
		"The request parameters are not validly URL-encoded.", "Percent-encode every parameter name and value."},
	{is(errNoSignature), "MissingParameter", http.StatusBadRequest,
		"The request is not signed: it has neither an Authorization header nor a Signature parameter.",
		"Sign the request with an AccessKey (ACS3-HMAC-SHA256 or HMAC-SHA1)."},
	{is(errIncompleteSig), "IncompleteSignature", http.StatusBadRequest,
		"The request signature does not conform to Aliyun standards.", "Use an official Alibaba Cloud SDK or CLI to sign requests."},
	{is(errUnknownKey), "InvalidAccessKeyId.NotFound", http.StatusNotFound,
		"The Access Key ID provided does not exist in our records.", "Check the AccessKeyId your client is configured with."},
	{is(errSignatureMismatch), "SignatureDoesNotMatch", http.StatusBadRequest,
		"Specified signature does not match our calculation.", "Check that your AccessKeySecret is correct."},
	{is(errTimestampExpired), "InvalidTimeStamp.Expired", http.StatusBadRequest,
		"Specified time stamp or date value is expired.", "Check the clock of the machine that sends the request."},
	{is(errNonceUsed), "SignatureNonceUsed", http.StatusBadRequest,
		"Specified signature nonce was used already.", "Use a new random SignatureNonce for every request."},
	{is(errUnknownVersion), "InvalidVersion", http.StatusBadRequest,
		"Specified parameter Version is not valid.", "Use version 2024-09-10 for ESA."},
	{is(errUnknownAction), "InvalidAction.NotFound", http.StatusNotFound,
		"Specified api is not found, please check your url and method.", "Check the action name and the API version."},

	// Sites and plans.
	{paramIs("SiteId", cert.ErrSiteNotFound), "InvalidParameter.SiteId", http.StatusBadRequest,
		"Failed to query the website based on the SiteID you specified. Check parameter SiteId and try again.",
		"Call ListSites to find the SiteId."},
	{is(cert.ErrSiteNotFound), "SiteNotFound", http.StatusNotFound,
		"The specified site is not found.", "Call ListSites to find the SiteId."},
	{is(cert.ErrSiteExists), "Site.Duplicated", http.StatusBadRequest,
		"The site already exists.", "Choose another site name, or use the existing site."},
	{paramIs("InstanceId", cert.ErrInstanceNotFound), "InvalidParameter.InstanceId", http.StatusBadRequest,
		"The specified plan instance does not exist.", "Call ListUserRatePlanInstances to find the InstanceId."},
	{is(cert.ErrInstanceNotFound), "InvalidInstanceId.NotFound", http.StatusNotFound,
		"The specified plan instance does not exist.", "Call ListUserRatePlanInstances to find the InstanceId."},
	{is(cert.ErrSiteQuota), "QuotaExceed.Site", http.StatusBadRequest,
		"The plan instance has no site quota left.", "Purchase another plan instance with PurchaseRatePlan."},

	// Parameters in general.
	{paramIs("", cert.ErrMissing), "MissingParameter", http.StatusBadRequest,
		"A required parameter is missing.", "Add the parameter the message names."},
	{paramIs("", cert.ErrInvalid), "InvalidParameter", http.StatusBadRequest,
		"The specified parameter is invalid.", "Correct the parameter the message names."},
}

// internalRow answers every error that matches no row.
var internalRow = row{nil, "InternalException", http.StatusBadRequest,
	"Failed to call the service. Try again later or contact technical support.", "Try again later."}

// lookup finds the row for err and the public message to send with it.
func lookup(err error) (row, string) {
	for _, r := range table {
		if r.match(err) {
			return r, publicMessage(r, err)
		}
	}
	return internalRow, internalRow.message
}

// publicMessage refines a row's message with what the error says publicly:
// the parameter name and reason of a ParamError, the detail of an envelope
// error, the server's string to sign. It never includes other error text.
func publicMessage(r row, err error) string {
	var pe *cert.ParamError
	if errors.As(err, &pe) && (r.code == "MissingParameter" || r.code == "InvalidParameter") {
		if errors.Is(pe.Err, cert.ErrMissing) {
			return fmt.Sprintf("The parameter %s is required.", pe.Param)
		}
		msg := fmt.Sprintf("The specified parameter %s is invalid.", pe.Param)
		if pe.Reason != "" {
			msg = fmt.Sprintf("The specified parameter %s is invalid: %s.", pe.Param, pe.Reason)
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
	return r.message
}
