package clienttest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"

	"github.com/esacert/esacert/internal/accesskey"
)

// sdkMethods is the HTTP method the official SDKs use for each action
// (esa-api.md §4–§5, esa-more-api.md §3 and §5).
var sdkMethods = map[string]string{
	"CreateSite": "POST", "GetSite": "GET", "ListSites": "GET", "DeleteSite": "POST", "VerifySite": "POST",
	"PurchaseRatePlan": "POST", "ListUserRatePlanInstances": "GET", "DescribeRatePlanInstanceStatus": "POST", "UpdateRatePlanSpec": "POST", "BatchCreateRecords": "POST",
	"SetCertificate": "POST", "GetCertificate": "POST", "ListCertificates": "POST", "DeleteCertificate": "GET",
	"ListCertificatesByRecord": "POST", "GetCertificateQuota": "GET", "ListCasCertificates": "POST", "ApplyCertificate": "POST",
	"UploadUserCertificate": "POST", "GetUserCertificateDetail": "POST", "ListUserCertificateOrder": "POST",
	"DeleteUserCertificate": "POST",
	"NoSuchAction":          "POST",
	// Mutual TLS from visitors (esa-api.md §6).
	"UploadClientCaCertificate": "POST", "GetClientCaCertificate": "GET", "ListClientCaCertificates": "GET",
	"DeleteClientCaCertificate": "GET", "SetClientCaCertificateHostnames": "POST", "GetClientCaCertificateHostnames": "POST",
	"CreateClientCertificate": "POST", "GetClientCertificate": "GET", "ListClientCertificates": "GET",
	"RevokeClientCertificate": "GET", "ActivateClientCertificate": "GET", "DeleteClientCertificate": "GET",
	"SetClientCertificateHostnames": "POST", "GetClientCertificateHostnames": "GET",
}

// sdkQueryParams are the parameters the official SDK sends in the query for
// actions whose other parameters go in the form body; absent actions send
// every parameter in the query.
var sdkQueryParams = map[string]map[string]bool{
	"SetCertificate":                  {"KeyServerId": true, "SecurityToken": true},
	"UploadClientCaCertificate":       {"SiteId": true},
	"SetClientCaCertificateHostnames": {"SiteId": true},
	"CreateClientCertificate":         {"SiteId": true},
	"SetClientCertificateHostnames":   {"SiteId": true},
}

// casActions belong to the certificate repository's API version.
var casActions = map[string]bool{"UploadUserCertificate": true, "GetUserCertificateDetail": true,
	"ListUserCertificateOrder": true, "DeleteUserCertificate": true}

func actionVersion(action string) string {
	switch {
	case casActions[action]:
		return "2020-04-07"
	case ramActions[action]:
		return "2015-05-01"
	case action == "LookupEvents":
		return "2020-07-06"
	case action == "RefundInstance", action == "QueryAvailableInstances":
		return "2017-12-14" // BssOpenApi
	case stsActions[action]:
		return "2015-04-01"
	}
	return "2024-09-10"
}

// decode turns a client's parsed or raw body into a JSON object.
func decode(t *testing.T, v any) map[string]any {
	t.Helper()
	raw, ok := v.([]byte)
	if !ok {
		var err error
		if raw, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("answer is not a JSON object: %s", raw)
	}
	return m
}

// teaCaller is darabonba-openapi's generic CallApi: ACS3 by default, the
// RPC HMAC-SHA1 signature with SignatureAlgorithm "v2".
type teaCaller struct{ client *openapi.Client }

func teaKind(v2 bool) clientKind {
	name := "darabonba_acs3"
	if v2 {
		name = "darabonba_v2"
	}
	return clientKind{name: name, make: func(t *testing.T, addr string, key accesskey.Key, replay bool) caller {
		cfg := &openapiutil.Config{
			AccessKeyId:     tea.String(key.ID),
			AccessKeySecret: tea.String(key.Secret),
			Endpoint:        tea.String(addr),
			Protocol:        tea.String("http"),
			RegionId:        tea.String("cn-hangzhou"),
		}
		if v2 {
			cfg.SignatureAlgorithm = tea.String("v2")
		}
		if replay {
			cfg.HttpClient = replayTea{}
		}
		c, err := openapi.NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return &teaCaller{c}
	}}
}

func (c *teaCaller) call(t *testing.T, action string, p map[string]string) (map[string]any, *apiError) {
	t.Helper()
	query := map[string]*string{}
	var body map[string]any
	inQuery, split := sdkQueryParams[action]
	for k, v := range p {
		if split && !inQuery[k] {
			if body == nil {
				body = map[string]any{}
			}
			body[k] = v
			continue
		}
		query[k] = tea.String(v)
	}
	params := &openapiutil.Params{
		Action: tea.String(action), Version: tea.String(actionVersion(action)), Protocol: tea.String("HTTP"),
		Pathname: tea.String("/"), Method: tea.String(sdkMethods[action]), AuthType: tea.String("AK"),
		Style: tea.String("RPC"), ReqBodyType: tea.String("formData"), BodyType: tea.String("json"),
	}
	res, err := c.client.CallApi(params, &openapiutil.OpenApiRequest{Query: query, Body: body}, &dara.RuntimeOptions{})
	if err != nil {
		var se *tea.SDKError
		if !errors.As(err, &se) {
			t.Fatalf("%s: error of type %T, not *tea.SDKError: %v", action, err, err)
		}
		return nil, &apiError{Status: tea.IntValue(se.StatusCode), Code: tea.StringValue(se.Code), Message: tea.StringValue(se.Message)}
	}
	return decode(t, res["body"]), nil
}

// replayTea sends every request twice and answers with the second response.
type replayTea struct{}

func (replayTea) Call(req *http.Request, tr *http.Transport) (*http.Response, error) {
	return sendTwice(req, tr)
}

func sendTwice(req *http.Request, rt http.RoundTripper) (*http.Response, error) {
	if rt == nil {
		rt = http.DefaultTransport
	}
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
	}
	clone := func() *http.Request {
		r := req.Clone(req.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
		return r
	}
	first, err := rt.RoundTrip(clone())
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, first.Body)
	first.Body.Close()
	return rt.RoundTrip(clone())
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// coreCaller is alibaba-cloud-sdk-go's CommonRequest, the path the aliyun
// CLI takes: the RPC signature, parameters of POST actions in the form body.
type coreCaller struct {
	client *sdk.Client
	addr   string
}

var coreKind = clientKind{name: "alibaba_cloud_sdk_go", make: func(t *testing.T, addr string, key accesskey.Key, replay bool) caller {
	c, err := sdk.NewClientWithAccessKey("cn-hangzhou", key.ID, key.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if replay {
		c.SetTransport(roundTripFunc(func(r *http.Request) (*http.Response, error) { return sendTwice(r, nil) }))
	}
	return &coreCaller{client: c, addr: addr}
}}

func (c *coreCaller) call(t *testing.T, action string, p map[string]string) (map[string]any, *apiError) {
	t.Helper()
	req := requests.NewCommonRequest()
	req.Method = sdkMethods[action]
	req.Scheme = "http"
	req.Domain = c.addr
	req.Version = actionVersion(action)
	req.ApiName = action
	for k, v := range p {
		if req.Method == "POST" {
			req.FormParams[k] = v
		} else {
			req.QueryParams[k] = v
		}
	}
	resp, err := c.client.ProcessCommonRequest(req)
	if err != nil {
		var se *sdkerrors.ServerError
		if !errors.As(err, &se) {
			t.Fatalf("%s: error of type %T, not *errors.ServerError: %v", action, err, err)
		}
		if se.HostId() == "" || se.Recommend() == "" || se.RequestId() == "" {
			t.Errorf("%s: ServerError lacks HostId, Recommend or RequestId: %v", action, se)
		}
		return nil, &apiError{Status: se.HttpStatus(), Code: se.ErrorCode(), Message: se.Message()}
	}
	return decode(t, resp.GetHttpContentBytes()), nil
}
