package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// apiError is the API's answer to a call that failed: its status, Code
// and Message, shown as the API sent them.
type apiError struct {
	Status    int
	Code      string
	Message   string
	RequestID string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// keyGone reports whether the session's access key no longer signs
// (deleted or disabled since the sign-in).
func (e *apiError) keyGone() bool { return strings.HasPrefix(e.Code, "InvalidAccessKeyId") }

// denied reports whether the caller's policies refused the action.
func (e *apiError) denied() bool {
	return e.Status == http.StatusForbidden || e.Code == "Forbidden.RAM" || e.Code == "NoPermission"
}

// errUnavailable is what a call answers when the API gave no JSON: the
// node has not reached its database.
var errUnavailable = &apiError{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable",
	Message: "esacert cannot answer yet (its database has not been reached); try again in a moment."}

// call invokes action as the session's key and decodes a success into
// out (when not nil).
func (c *Console) call(r *http.Request, sess *session, action string, params url.Values, out any) *apiError {
	status, body := c.API.Invoke(r, sess.keyID, esaVersion, action, params)
	var env struct{ RequestId, Code, Message string }
	if err := json.Unmarshal(body, &env); err != nil {
		return errUnavailable
	}
	if status != http.StatusOK {
		return &apiError{Status: status, Code: env.Code, Message: env.Message, RequestID: env.RequestId}
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			c.log().Error("console: decode an answer", "action", action, "error", err)
			return &apiError{Status: http.StatusBadGateway, Code: "ConsoleError", Message: "The answer of " + action + " could not be read.",
				RequestID: env.RequestId}
		}
	}
	return nil
}

// maxPages bounds the pages of one list the console reads (500 each).
const maxPages = 40

// listAll calls a paged List action until every item is read (or
// maxPages): page decodes one answer and returns its items' count and the
// total count.
func (c *Console) listAll(r *http.Request, sess *session, action string, params url.Values, page func(body []byte) (n, total int, err error)) *apiError {
	p := url.Values{}
	for k, v := range params {
		p[k] = v
	}
	p.Set("PageSize", "500")
	read := 0
	for n := 1; n <= maxPages; n++ {
		p.Set("PageNumber", strconv.Itoa(n))
		var raw json.RawMessage
		if e := c.call(r, sess, action, p, &raw); e != nil {
			return e
		}
		got, total, err := page(raw)
		if err != nil {
			return &apiError{Status: http.StatusBadGateway, Code: "ConsoleError", Message: "The answer of " + action + " could not be read."}
		}
		read += got
		if got == 0 || read >= total {
			return nil
		}
	}
	return nil
}
