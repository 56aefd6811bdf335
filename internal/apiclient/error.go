package apiclient

import (
	"encoding/json"
	"fmt"
)

// Error is an error answer from the node: ESA's error body and the HTTP
// status it came with.
type Error struct {
	HTTPStatus int
	Code       string
	Message    string
	Recommend  string
	RequestID  string
	// Body is the whole answer as the node sent it (JSON, or the text of an
	// answer that is not), for the fields not above, such as RAM's
	// AccessDeniedDetail.
	Body []byte
}

func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("apiclient: HTTP %d: %s", e.HTTPStatus, clip(e.Body))
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// newError reads an error answer.
func newError(status int, body []byte) *Error {
	e := &Error{HTTPStatus: status, Body: body}
	var b struct {
		Code, Message, Recommend, RequestId string
	}
	if json.Unmarshal(body, &b) == nil {
		e.Code, e.Message, e.Recommend, e.RequestID = b.Code, b.Message, b.Recommend, b.RequestId
	}
	return e
}
