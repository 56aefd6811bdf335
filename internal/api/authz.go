package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/identity"
	"github.com/esacert/esacert/internal/policy"
	"github.com/esacert/esacert/internal/redact"
)

// Access levels of actions, as the permission table shows them.
const (
	levelRead  = "Read"
	levelList  = "List"
	levelWrite = "Write"
	// levelNone: the action is never authorized by policy (every caller
	// may ask who it is).
	levelNone = "-"
)

// permission is what an action asks of the caller's policies: its access
// level and the resource it acts on, a template in which ${AccountId} is
// the account id, ${PolicyOwner} is "system" for a system policy (its
// PolicyType) and the account id otherwise, and ${Name} the value of the
// request's parameter Name (UserName falls back to the caller's own name,
// as the access key actions do). Site ids (${SiteId}, ${ResourceId.N}) are
// written canonically (canonicalID).
type permission struct {
	level    string
	resource string // several joined by alsoOn must each be allowed
}

// alsoOn joins the resources of an action that must be allowed on each
// (attaching a policy needs the principal and the policy).
const alsoOn = " and "

// Resources, as RAM names them. ESA's resource is the site a request
// names; RAM's are the account's users, groups, policies and roles.
const (
	anyResource  = "*"
	siteResource = "acs:esa:*:${AccountId}:site/${SiteId}"
	allSites     = "acs:esa:*:${AccountId}:site/*"
	// eachSite is one resource per ResourceId.N (see eachResource).
	eachSite     = "acs:esa:*:${AccountId}:site/${ResourceId.N}"
	userResource = "acs:ram::${AccountId}:user/${UserName}"
	allUsers     = "acs:ram::${AccountId}:user/*"
	groupRes     = "acs:ram::${AccountId}:group/${GroupName}"
	allGroups    = "acs:ram::${AccountId}:group/*"
	policyRes    = "acs:ram::${PolicyOwner}:policy/${PolicyName}"
	allPolicies  = "acs:ram::${AccountId}:policy/*"
	roleResource = "acs:ram::${AccountId}:role/${RoleName}"
	allRoles     = "acs:ram::${AccountId}:role/*"
)

// ramCodes are the services' codes in RAM actions (esa:SetCertificate).
var ramCodes = map[string]string{ESAVersion: "esa", CASVersion: "yundun-cert", RAMVersion: "ram",
	STSVersion: "sts", ActionTrailVersion: "actiontrail", BSSVersion: "bss"}

// permissions is THE table of what every action asks of a RAM identity's
// policies: per version, per action, its access level and resource. The
// action is <service code>:<Action> (ramCodes). A test checks that it
// lists exactly the actions of versions, and the README shows it
// (testdata/permissions.golden).
var permissions = map[string]map[string]permission{
	ESAVersion: {
		"CreateSite": {levelWrite, allSites},
		"GetSite":    {levelRead, siteResource},
		"ListSites":  {levelList, anyResource},
		"DeleteSite": {levelWrite, siteResource},
		"VerifySite": {levelWrite, siteResource},

		"PurchaseRatePlan":               {levelWrite, anyResource},
		"ListUserRatePlanInstances":      {levelList, anyResource},
		"DescribeRatePlanInstanceStatus": {levelRead, anyResource},
		"UpdateRatePlanSpec":             {levelWrite, anyResource},

		"SetCertificate":           {levelWrite, siteResource},
		"ApplyCertificate":         {levelWrite, siteResource},
		"GetCertificate":           {levelRead, siteResource},
		"ListCertificates":         {levelList, siteResource},
		"DeleteCertificate":        {levelWrite, siteResource},
		"ListCertificatesByRecord": {levelList, siteResource},
		"GetCertificateQuota":      {levelRead, siteResource},
		"ListCasCertificates":      {levelList, anyResource},

		"UploadOriginCaCertificate": {levelWrite, siteResource},
		"GetOriginCaCertificate":    {levelRead, siteResource},
		"ListOriginCaCertificates":  {levelList, siteResource},
		"DeleteOriginCaCertificate": {levelWrite, siteResource},

		"UploadOriginClientCertificate":       {levelWrite, siteResource},
		"GetOriginClientCertificate":          {levelRead, siteResource},
		"ListOriginClientCertificates":        {levelList, siteResource},
		"DeleteOriginClientCertificate":       {levelWrite, siteResource},
		"SetOriginClientCertificateHostnames": {levelWrite, siteResource},
		"GetOriginClientCertificateHostnames": {levelRead, siteResource},

		"UploadSiteOriginClientCertificate": {levelWrite, siteResource},
		"GetSiteOriginClientCertificate":    {levelRead, siteResource},
		"ListSiteOriginClientCertificates":  {levelList, siteResource},
		"DeleteSiteOriginClientCertificate": {levelWrite, siteResource},
		"UploadClientCaCertificate":         {levelWrite, siteResource},
		"GetClientCaCertificate":            {levelRead, siteResource},
		"ListClientCaCertificates":          {levelList, siteResource},
		"DeleteClientCaCertificate":         {levelWrite, siteResource},
		"SetClientCaCertificateHostnames":   {levelWrite, siteResource},
		"GetClientCaCertificateHostnames":   {levelRead, siteResource},

		"CreateClientCertificate":       {levelWrite, siteResource},
		"GetClientCertificate":          {levelRead, siteResource},
		"ListClientCertificates":        {levelList, siteResource},
		"RevokeClientCertificate":       {levelWrite, siteResource},
		"ActivateClientCertificate":     {levelWrite, siteResource},
		"DeleteClientCertificate":       {levelWrite, siteResource},
		"SetClientCertificateHostnames": {levelWrite, siteResource},
		"GetClientCertificateHostnames": {levelRead, siteResource},

		"CreateRecord":       {levelWrite, siteResource},
		"GetRecord":          {levelRead, anyResource},
		"ListRecords":        {levelList, siteResource},
		"UpdateRecord":       {levelWrite, anyResource},
		"DeleteRecord":       {levelWrite, anyResource},
		"BatchCreateRecords": {levelWrite, siteResource},

		"CreateHttpsBasicConfiguration":       {levelWrite, siteResource},
		"GetHttpsBasicConfiguration":          {levelRead, siteResource},
		"ListHttpsBasicConfigurations":        {levelList, siteResource},
		"UpdateHttpsBasicConfiguration":       {levelWrite, siteResource},
		"DeleteHttpsBasicConfiguration":       {levelWrite, siteResource},
		"CreateHttpsApplicationConfiguration": {levelWrite, siteResource},
		"GetHttpsApplicationConfiguration":    {levelRead, siteResource},
		"ListHttpsApplicationConfigurations":  {levelList, siteResource},
		"UpdateHttpsApplicationConfiguration": {levelWrite, siteResource},
		"DeleteHttpsApplicationConfiguration": {levelWrite, siteResource},
		"CreateOriginRule":                    {levelWrite, siteResource},
		"GetOriginRule":                       {levelRead, siteResource},
		"ListOriginRules":                     {levelList, siteResource},
		"UpdateOriginRule":                    {levelWrite, siteResource},
		"DeleteOriginRule":                    {levelWrite, siteResource},
		"ListCiphers":                         {levelList, anyResource},

		"GetSitePause":                {levelRead, siteResource},
		"UpdateSitePause":             {levelWrite, siteResource},
		"GetIPv6":                     {levelRead, siteResource},
		"UpdateIPv6":                  {levelWrite, siteResource},
		"GetManagedTransform":         {levelRead, siteResource},
		"UpdateManagedTransform":      {levelWrite, siteResource},
		"UpdateSiteCoverage":          {levelWrite, siteResource},
		"ActivateVersionManagement":   {levelWrite, siteResource},
		"DeactivateVersionManagement": {levelWrite, siteResource},

		"GetCacheTag":        {levelRead, siteResource},
		"UpdateCacheTag":     {levelWrite, siteResource},
		"GetCacheReserve":    {levelRead, siteResource},
		"UpdateCacheReserve": {levelWrite, siteResource},
		"DescribeHttpDDoSAttackIntelligentProtection": {levelRead, siteResource},
		"SetHttpDDoSAttackIntelligentProtection":      {levelWrite, siteResource},
		"GetTieredCache":                              {levelRead, siteResource},
		"UpdateTieredCache":                           {levelWrite, siteResource},
		"GetCrossBorderOptimization":                  {levelRead, siteResource},
		"UpdateCrossBorderOptimization":               {levelWrite, siteResource},
		"GetSiteNameExclusive":                        {levelRead, siteResource},
		"UpdateSiteNameExclusive":                     {levelWrite, siteResource},
		"GetCnameFlattening":                          {levelRead, siteResource},
		"UpdateCnameFlattening":                       {levelWrite, siteResource},
		"GetSeoBypass":                                {levelRead, siteResource},
		"UpdateSeoBypass":                             {levelWrite, siteResource},
		"GetDevelopmentMode":                          {levelRead, siteResource},
		"UpdateDevelopmentMode":                       {levelWrite, siteResource},
		"DescribeHttpDDoSAttackProtection":            {levelRead, siteResource},
		"SetHttpDDoSAttackProtection":                 {levelWrite, siteResource},
		"GetAutomaticFrequencyControlConfig":          {levelRead, siteResource},
		"SetAutomaticFrequencyControlConfig":          {levelWrite, siteResource},
		"GetPerformanceDataCollection":                {levelRead, siteResource},
		"UpdatePerformanceDataCollection":             {levelWrite, siteResource},
		"GetSiteWafSettings":                          {levelRead, siteResource},
		"EditSiteWafSettings":                         {levelWrite, siteResource},

		// Each site that ResourceId.N names must be allowed; a list by tags
		// only (no ResourceId) acts on every site.
		"ListTagResources": {levelList, eachSite},
		"TagResources":     {levelWrite, eachSite},
		"UntagResources":   {levelWrite, eachSite},
	},
	CASVersion: {
		"UploadUserCertificate":    {levelWrite, anyResource},
		"GetUserCertificateDetail": {levelRead, anyResource},
		"ListUserCertificateOrder": {levelList, anyResource},
		"DeleteUserCertificate":    {levelWrite, anyResource},
	},
	RAMVersion: {
		"CreateUser":         {levelWrite, userResource},
		"GetUser":            {levelRead, userResource},
		"ListUsers":          {levelList, allUsers},
		"UpdateUser":         {levelWrite, userResource},
		"DeleteUser":         {levelWrite, userResource},
		"DeleteLoginProfile": {levelWrite, userResource},
		"UnbindMFADevice":    {levelWrite, userResource},

		"CreateAccessKey": {levelWrite, userResource},
		"ListAccessKeys":  {levelList, userResource},
		"UpdateAccessKey": {levelWrite, userResource},
		"DeleteAccessKey": {levelWrite, userResource},

		"CreateGroup":         {levelWrite, groupRes},
		"GetGroup":            {levelRead, groupRes},
		"ListGroups":          {levelList, allGroups},
		"UpdateGroup":         {levelWrite, groupRes},
		"DeleteGroup":         {levelWrite, groupRes},
		"AddUserToGroup":      {levelWrite, groupRes},
		"RemoveUserFromGroup": {levelWrite, groupRes},
		"ListGroupsForUser":   {levelList, userResource},
		"ListUsersForGroup":   {levelList, groupRes},

		"CreatePolicy":            {levelWrite, policyRes},
		"GetPolicy":               {levelRead, policyRes},
		"ListPolicies":            {levelList, allPolicies},
		"UpdatePolicyDescription": {levelWrite, policyRes},
		"DeletePolicy":            {levelWrite, policyRes},
		"CreatePolicyVersion":     {levelWrite, policyRes},
		"GetPolicyVersion":        {levelRead, policyRes},
		"ListPolicyVersions":      {levelList, policyRes},
		"DeletePolicyVersion":     {levelWrite, policyRes},
		"SetDefaultPolicyVersion": {levelWrite, policyRes},
		"AttachPolicyToUser":      {levelWrite, userResource + alsoOn + policyRes},
		"AttachPolicyToGroup":     {levelWrite, groupRes + alsoOn + policyRes},
		"AttachPolicyToRole":      {levelWrite, roleResource + alsoOn + policyRes},
		"DetachPolicyFromUser":    {levelWrite, userResource + alsoOn + policyRes},
		"DetachPolicyFromGroup":   {levelWrite, groupRes + alsoOn + policyRes},
		"DetachPolicyFromRole":    {levelWrite, roleResource + alsoOn + policyRes},
		"ListPoliciesForUser":     {levelList, userResource},
		"ListPoliciesForGroup":    {levelList, groupRes},
		"ListPoliciesForRole":     {levelList, roleResource},
		"ListEntitiesForPolicy":   {levelList, policyRes},

		"CreateRole": {levelWrite, roleResource},
		"GetRole":    {levelRead, roleResource},
		"ListRoles":  {levelList, allRoles},
		"UpdateRole": {levelWrite, roleResource},
		"DeleteRole": {levelWrite, roleResource},

		"ListTagResources": {levelList, anyResource},
		"TagResources":     {levelWrite, anyResource},
		"UntagResources":   {levelWrite, anyResource},

		"GetAccountAlias": {levelRead, anyResource},
		"SetAccountAlias": {levelWrite, anyResource},

		"DecodeDiagnosticMessage": {levelRead, anyResource},
	},
	STSVersion: {
		"AssumeRole":        {levelRead, "${RoleArn}"},
		"GetCallerIdentity": {levelNone, anyResource},
	},
	ActionTrailVersion: {
		"LookupEvents": {levelList, anyResource},
	},
	BSSVersion: {
		"RefundInstance":          {levelWrite, anyResource},
		"QueryAvailableInstances": {levelList, anyResource},
	},
}

// errDenied is the error of a request the caller's policies do not allow;
// a *deniedError carries what the answer says about it.
var errDenied = errors.New("access denied")

// deniedError says which action on which resource was denied to whom, and how.
type deniedError struct {
	action   string // esa:SetCertificate
	resource string
	caller   *identity.Identity
	explicit bool // an explicit Deny, not only no Allow
	session  bool // decided by a role session's policy
}

func (e *deniedError) Error() string {
	return errDenied.Error() + ": " + e.action + " on " + e.resource
}
func (e *deniedError) Unwrap() error { return errDenied }

// deniedIn matches a denial of an action of one of the services (by RAM
// code): RAM and STS answer their own denials with NoPermission.
func deniedIn(codes ...string) func(error) bool {
	return func(err error) bool {
		var de *deniedError
		if !errors.As(err, &de) {
			return false
		}
		service, _, _ := strings.Cut(de.action, ":")
		for _, c := range codes {
			if service == c {
				return true
			}
		}
		return false
	}
}

// authorize decides whether caller may do the request's action: the root
// key may do everything; any other identity what its policies allow
// (identity.Evaluate decides, with policy's rules), in the request's
// context: its source address, whether it came over TLS, and the time.
func (s *Server) authorize(req *request, caller *identity.Identity) error {
	if caller == nil || caller.Kind == identity.Root {
		return nil
	}
	perm, ok := permissions[req.version][req.action]
	if ok && perm.level == levelNone {
		return nil
	}
	action := ramCodes[req.version] + ":" + req.action
	template := anyResource
	if ok {
		template = perm.resource
	}
	for _, t := range eachResource(strings.Split(template, alsoOn), &req.params) {
		res := s.resource(t, &req.params, caller)
		d, bySession := caller.Evaluate(policy.Request{Action: action, Resource: res, Context: req.params.conditions})
		if d != policy.Allowed {
			return &deniedError{action: action, resource: res, caller: caller, explicit: d == policy.ExplicitDeny, session: bySession}
		}
	}
	return nil
}

// eachResourceVar in a template stands for each of the request's
// ResourceId.N (or its JSON list ResourceId): the template becomes one
// resource per id, each of which must be allowed; with none, every one (*).
const eachResourceVar = "${ResourceId.N}"

// eachResource expands eachResourceVar in templates.
func eachResource(templates []string, p *params) []string {
	var out []string
	for _, t := range templates {
		if !strings.Contains(t, eachResourceVar) {
			out = append(out, t)
			continue
		}
		ids, err := p.stringList("ResourceId", "ResourceId")
		if err != nil || len(ids) == 0 {
			ids = []string{"*"} // the action refuses a malformed list itself
		}
		for _, id := range ids {
			out = append(out, strings.ReplaceAll(t, eachResourceVar, canonicalID(id)))
		}
	}
	return out
}

// canonicalID is a site id in a resource: as the action reads it
// (parseInt: "07", "+7" and " 7" are 7), written as ListSites answers it,
// so that a policy that allows or denies site/7 decides every spelling of
// 7. A value that is no integer is left as sent: the action refuses it
// (InvalidParameter) if the policies let the request through.
func canonicalID(v string) string {
	if n, err := parseInt(v); err == nil {
		return strconv.FormatInt(n, 10)
	}
	return v
}

// conditions are the request's condition keys, as policies see them:
// its source address, whether it came over TLS, and the time.
func (s *Server) conditions(req *request) map[string]string {
	return map[string]string{
		keySourceIP:        sourceIP(req.r.RemoteAddr),
		keySecureTransport: strconv.FormatBool(req.r.TLS != nil),
		keyCurrentTime:     s.now().Format(time.RFC3339),
	}
}

// The context keys every request carries, as policy.Request.Set spells
// them (lower-cased).
var (
	keySourceIP        = strings.ToLower(policy.KeySourceIP)
	keySecureTransport = strings.ToLower(policy.KeySecureTransport)
	keyCurrentTime     = strings.ToLower(policy.KeyCurrentTime)
)

// resource fills a permission's resource template from the request.
func (s *Server) resource(template string, p *params, caller *identity.Identity) string {
	if !strings.Contains(template, "${") {
		return template
	}
	var b strings.Builder
	rest := template
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			b.WriteString(rest)
			return b.String()
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			b.WriteString(rest)
			return b.String()
		}
		b.WriteString(rest[:i])
		name := rest[i+2 : i+j]
		rest = rest[i+j+1:]
		switch name {
		case "AccountId":
			b.WriteString(s.AccountID)
		case "PolicyOwner":
			if strings.EqualFold(p.str("PolicyType"), "System") {
				b.WriteString("system")
			} else {
				b.WriteString(s.AccountID)
			}
		case "SiteId":
			b.WriteString(canonicalID(p.str(name)))
		case "UserName":
			v := p.str("UserName")
			if v == "" && caller != nil {
				v = caller.UserName // the access key actions act on the caller's own user
			}
			b.WriteString(v)
		default:
			b.WriteString(p.str(name))
		}
	}
}

// accessDeniedDetail is the AccessDeniedDetail object of a denial, at the
// top of the error body, where the SDKs read it.
type accessDeniedDetail struct {
	AuthAction               string
	AuthPrincipalType        string
	AuthPrincipalDisplayName string
	AuthPrincipalOwnerId     string
	NoPermissionType         string
	PolicyType               string
	EncodedDiagnosticMessage string
}

// detail describes the denial as Alibaba Cloud does: the principal (a RAM
// user by its id, a role session as role:session), whether a Deny said no
// or no Allow said yes, and the kind of policy that decided.
func (e *deniedError) detail() *accessDeniedDetail {
	d := &accessDeniedDetail{AuthAction: e.action, AuthPrincipalOwnerId: e.caller.Account,
		NoPermissionType: "ImplicitDeny", PolicyType: "AccountLevelIdentityBasedPolicy"}
	switch e.caller.Kind {
	case identity.Session:
		d.AuthPrincipalType, d.AuthPrincipalDisplayName = "AssumedRoleUser", e.caller.RoleName+":"+e.caller.SessionName
	default:
		d.AuthPrincipalType, d.AuthPrincipalDisplayName = "SubUser", e.caller.UserID
	}
	if e.explicit {
		d.NoPermissionType = "ExplicitDeny"
	}
	if e.session {
		d.PolicyType = "SessionPolicy"
	}
	diag, _ := json.Marshal(diagnostic{AuthAction: e.action, AuthResource: e.resource, ExplicitDeny: e.explicit,
		NoPermissionPolicyType: d.PolicyType, AuthPrincipal: diagnosticPrincipal{AuthPrincipalType: d.AuthPrincipalType,
			AuthPrincipalOwnerId: d.AuthPrincipalOwnerId, AuthPrincipalDisplayName: d.AuthPrincipalDisplayName}})
	d.EncodedDiagnosticMessage = base64.StdEncoding.EncodeToString(diag)
	return d
}

// diagnostic is what an EncodedDiagnosticMessage holds, and what RAM's
// DecodeDiagnosticMessage answers of it. It says nothing the denied caller
// did not know (its own action, resource and identity), so it is encoded,
// not sealed.
type diagnostic struct {
	AuthAction             string
	AuthResource           string
	ExplicitDeny           bool
	NoPermissionPolicyType string
	AuthPrincipal          diagnosticPrincipal
}

type diagnosticPrincipal struct {
	AuthPrincipalType        string
	AuthPrincipalOwnerId     string
	AuthPrincipalDisplayName string
}

// decodeDiagnosticMessage is RAM's DecodeDiagnosticMessage.
func (s *Server) decodeDiagnosticMessage(ctx context.Context, p *params) (any, error) {
	msg, err := p.required("EncodedDiagnosticMessage")
	if err != nil {
		return nil, err
	}
	raw, err := base64.StdEncoding.DecodeString(msg)
	var d diagnostic
	if err != nil || json.Unmarshal(raw, &d) != nil || d.AuthAction == "" {
		return nil, domain.Invalid("EncodedDiagnosticMessage", "is not a message an access-denied answer carried")
	}
	return struct{ DecodedDiagnosticMessage diagnostic }{d}, nil
}

// maxResourceInMessage bounds a resource quoted in a message: it holds
// request parameters.
const maxResourceInMessage = 256

// deniedMessage says which action on which resource was denied.
func (e *deniedError) message(base string) string {
	return base + " Action: " + e.action + ", Resource: " + redact.Clean(e.resource, maxResourceInMessage) + "."
}
