package api

import (
	"context"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/httpsconf"
)

// The HTTPS configuration actions (esa-more-api.md §4). Settings are
// answered only when the client set them, so that a client (Terraform's
// optional attributes above all) reads back exactly what it wrote;
// ConfigId, ConfigType and Sequence are always there, and Rule, RuleName
// and RuleEnable are there for rule configurations.

// basicUpdatable and appUpdatable are the parameters an Update action
// changes when they are sent (an empty value unsets a setting).
var (
	basicUpdatable = []string{"Rule", "RuleName", "RuleEnable", "Sequence", "Https", "Http2", "Http3",
		"Tls10", "Tls11", "Tls12", "Tls13", "CiphersuiteGroup", "Ciphersuite", "OcspStapling"}
	appUpdatable = []string{"Rule", "RuleName", "RuleEnable", "Sequence", "HttpsForce", "HttpsForceCode",
		"Hsts", "HstsMaxAge", "HstsIncludeSubdomains", "HstsPreload", "AltSvc", "AltSvcClear", "AltSvcMa",
		"AltSvcPersist", "HttpsNoSniDeny", "HttpsSniVerify", "HttpsSniWhitelist"}
)

// sent returns the names among names that the request carries, even empty.
func sent(p *params, names []string) []string {
	var out []string
	for _, n := range names {
		if p.has(n) {
			out = append(out, n)
		}
	}
	return out
}

// ruleJSON holds the rule fields of a configuration: present (even empty)
// for a rule configuration, absent for the global one.
type ruleJSON struct {
	Rule       *string `json:",omitempty"`
	RuleName   *string `json:",omitempty"`
	RuleEnable *string `json:",omitempty"`
}

func ruleFields(configType, rule, name, enable string) ruleJSON {
	if configType != httpsconf.ConfigRule {
		return ruleJSON{}
	}
	return ruleJSON{&rule, &name, &enable}
}

// httpsBasicJSON is a basic configuration as GetHttpsBasicConfiguration
// (flat, beside RequestId) and ListHttpsBasicConfigurations' Configs[] show it.
type httpsBasicJSON struct {
	ConfigId   int64
	ConfigType string
	ruleJSON
	Sequence         int
	Https            string `json:",omitempty"`
	Http2            string `json:",omitempty"`
	Http3            string `json:",omitempty"`
	Tls10            string `json:",omitempty"`
	Tls11            string `json:",omitempty"`
	Tls12            string `json:",omitempty"`
	Tls13            string `json:",omitempty"`
	CiphersuiteGroup string `json:",omitempty"`
	Ciphersuite      string `json:",omitempty"`
	OcspStapling     string `json:",omitempty"`
}

func basicJSON(b httpsconf.HTTPSBasic) httpsBasicJSON {
	return httpsBasicJSON{
		ConfigId:         b.ConfigID,
		ConfigType:       b.ConfigType,
		ruleJSON:         ruleFields(b.ConfigType, b.Rule, b.RuleName, b.RuleEnable),
		Sequence:         b.Sequence,
		Https:            b.Https,
		Http2:            b.Http2,
		Http3:            b.Http3,
		Tls10:            b.Tls10,
		Tls11:            b.Tls11,
		Tls12:            b.Tls12,
		Tls13:            b.Tls13,
		CiphersuiteGroup: b.CiphersuiteGroup,
		Ciphersuite:      b.Ciphersuite,
		OcspStapling:     b.OcspStapling,
	}
}

// httpsAppJSON is an application configuration as
// GetHttpsApplicationConfiguration and ListHttpsApplicationConfigurations
// show it; its numbers (HttpsForceCode, HstsMaxAge, AltSvcMa) are strings.
type httpsAppJSON struct {
	ConfigId   int64
	ConfigType string
	ruleJSON
	Sequence              int
	SiteVersion           int
	HttpsForce            string `json:",omitempty"`
	HttpsForceCode        string `json:",omitempty"`
	Hsts                  string `json:",omitempty"`
	HstsMaxAge            string `json:",omitempty"`
	HstsIncludeSubdomains string `json:",omitempty"`
	HstsPreload           string `json:",omitempty"`
	AltSvc                string `json:",omitempty"`
	AltSvcClear           string `json:",omitempty"`
	AltSvcMa              string `json:",omitempty"`
	AltSvcPersist         string `json:",omitempty"`
	HttpsNoSniDeny        string `json:",omitempty"`
	HttpsSniVerify        string `json:",omitempty"`
	HttpsSniWhitelist     string `json:",omitempty"`
}

func appJSON(a httpsconf.HTTPSApplication) httpsAppJSON {
	return httpsAppJSON{
		ConfigId:              a.ConfigID,
		ConfigType:            a.ConfigType,
		ruleJSON:              ruleFields(a.ConfigType, a.Rule, a.RuleName, a.RuleEnable),
		Sequence:              a.Sequence,
		SiteVersion:           a.SiteVersion,
		HttpsForce:            a.HttpsForce,
		HttpsForceCode:        a.HttpsForceCode,
		Hsts:                  a.Hsts,
		HstsMaxAge:            a.HstsMaxAge,
		HstsIncludeSubdomains: a.HstsIncludeSubdomains,
		HstsPreload:           a.HstsPreload,
		AltSvc:                a.AltSvc,
		AltSvcClear:           a.AltSvcClear,
		AltSvcMa:              a.AltSvcMa,
		AltSvcPersist:         a.AltSvcPersist,
		HttpsNoSniDeny:        a.HttpsNoSniDeny,
		HttpsSniVerify:        a.HttpsSniVerify,
		HttpsSniWhitelist:     a.HttpsSniWhitelist,
	}
}

// basicParams reads a basic configuration from the request: SiteId,
// ConfigId when withID, the rule fields and the settings ("" when not sent).
func basicParams(p *params, withID bool) (httpsconf.HTTPSBasic, error) {
	var b httpsconf.HTTPSBasic
	var err error
	if b.SiteID, err = p.requiredInt64("SiteId"); err != nil {
		return b, err
	}
	if withID {
		if b.ConfigID, err = p.requiredInt64("ConfigId"); err != nil {
			return b, err
		}
	}
	if b.Sequence, err = p.int("Sequence"); err != nil {
		return b, err
	}
	b.Rule, b.RuleName, b.RuleEnable = p.str("Rule"), p.str("RuleName"), p.str("RuleEnable")
	b.Https, b.Http2, b.Http3 = p.str("Https"), p.str("Http2"), p.str("Http3")
	b.Tls10, b.Tls11, b.Tls12, b.Tls13 = p.str("Tls10"), p.str("Tls11"), p.str("Tls12"), p.str("Tls13")
	b.CiphersuiteGroup, b.Ciphersuite = p.str("CiphersuiteGroup"), p.str("Ciphersuite")
	b.OcspStapling = p.str("OcspStapling")
	return b, nil
}

// appParams reads an application configuration from the request, as
// basicParams does a basic one; SiteVersion only on create.
func appParams(p *params, withID bool) (httpsconf.HTTPSApplication, error) {
	var a httpsconf.HTTPSApplication
	var err error
	if a.SiteID, err = p.requiredInt64("SiteId"); err != nil {
		return a, err
	}
	if withID {
		if a.ConfigID, err = p.requiredInt64("ConfigId"); err != nil {
			return a, err
		}
	} else if a.SiteVersion, err = p.int("SiteVersion"); err != nil {
		return a, err
	}
	if a.Sequence, err = p.int("Sequence"); err != nil {
		return a, err
	}
	a.Rule, a.RuleName, a.RuleEnable = p.str("Rule"), p.str("RuleName"), p.str("RuleEnable")
	a.HttpsForce, a.HttpsForceCode = p.str("HttpsForce"), p.str("HttpsForceCode")
	a.Hsts, a.HstsMaxAge = p.str("Hsts"), p.str("HstsMaxAge")
	a.HstsIncludeSubdomains, a.HstsPreload = p.str("HstsIncludeSubdomains"), p.str("HstsPreload")
	a.AltSvc, a.AltSvcClear, a.AltSvcMa, a.AltSvcPersist = p.str("AltSvc"), p.str("AltSvcClear"), p.str("AltSvcMa"), p.str("AltSvcPersist")
	a.HttpsNoSniDeny, a.HttpsSniVerify, a.HttpsSniWhitelist = p.str("HttpsNoSniDeny"), p.str("HttpsSniVerify"), p.str("HttpsSniWhitelist")
	return a, nil
}

// siteAndConfig reads the required SiteId and ConfigId.
func siteAndConfig(p *params) (siteID, configID int64, err error) {
	if siteID, err = p.requiredInt64("SiteId"); err != nil {
		return 0, 0, err
	}
	configID, err = p.requiredInt64("ConfigId")
	return siteID, configID, err
}

// httpsFilter reads the filters and the page of a List action.
func httpsFilter(p *params) (httpsconf.HTTPSFilter, error) {
	var f httpsconf.HTTPSFilter
	var err error
	if f.SiteID, err = p.requiredInt64("SiteId"); err != nil {
		return f, err
	}
	if f.ConfigID, err = p.int64("ConfigId"); err != nil {
		return f, err
	}
	if f.Page, err = p.page(20, 500); err != nil {
		return f, err
	}
	f.ConfigType, f.RuleName = p.str("ConfigType"), p.str("RuleName")
	return f, nil
}

// listPage is the paging part of a List answer.
type listPage struct {
	PageNumber int
	PageSize   int
	TotalCount int
	TotalPage  int
}

func pageOf(pg domain.Page, total int) listPage {
	return listPage{pg.Offset/pg.Limit + 1, pg.Limit, total, (total + pg.Limit - 1) / pg.Limit}
}

func (s *Server) createHttpsBasicConfiguration(ctx context.Context, p *params) (any, error) {
	b, err := basicParams(p, false)
	if err != nil {
		return nil, err
	}
	if b, err = s.HTTPS.CreateHTTPSBasic(ctx, b); err != nil {
		return nil, err
	}
	return struct{ ConfigId int64 }{b.ConfigID}, nil
}

func (s *Server) getHttpsBasicConfiguration(ctx context.Context, p *params) (any, error) {
	siteID, id, err := siteAndConfig(p)
	if err != nil {
		return nil, err
	}
	b, err := s.HTTPS.HTTPSBasic(ctx, siteID, id)
	if err != nil {
		return nil, err
	}
	return basicJSON(b), nil
}

func (s *Server) listHttpsBasicConfigurations(ctx context.Context, p *params) (any, error) {
	f, err := httpsFilter(p)
	if err != nil {
		return nil, err
	}
	list, total, err := s.HTTPS.ListHTTPSBasic(ctx, f)
	if err != nil {
		return nil, err
	}
	out := struct {
		Configs []httpsBasicJSON
		listPage
	}{[]httpsBasicJSON{}, pageOf(f.Page, total)}
	for _, b := range list {
		out.Configs = append(out.Configs, basicJSON(b))
	}
	return out, nil
}

func (s *Server) updateHttpsBasicConfiguration(ctx context.Context, p *params) (any, error) {
	b, err := basicParams(p, true)
	if err != nil {
		return nil, err
	}
	_, err = s.HTTPS.UpdateHTTPSBasic(ctx, b, sent(p, basicUpdatable))
	return nil, err
}

func (s *Server) deleteHttpsBasicConfiguration(ctx context.Context, p *params) (any, error) {
	siteID, id, err := siteAndConfig(p)
	if err != nil {
		return nil, err
	}
	return nil, s.HTTPS.DeleteHTTPSBasic(ctx, siteID, id)
}

func (s *Server) createHttpsApplicationConfiguration(ctx context.Context, p *params) (any, error) {
	a, err := appParams(p, false)
	if err != nil {
		return nil, err
	}
	if a, err = s.HTTPS.CreateHTTPSApplication(ctx, a); err != nil {
		return nil, err
	}
	return struct{ ConfigId int64 }{a.ConfigID}, nil
}

func (s *Server) getHttpsApplicationConfiguration(ctx context.Context, p *params) (any, error) {
	siteID, id, err := siteAndConfig(p)
	if err != nil {
		return nil, err
	}
	a, err := s.HTTPS.HTTPSApplication(ctx, siteID, id)
	if err != nil {
		return nil, err
	}
	return appJSON(a), nil
}

func (s *Server) listHttpsApplicationConfigurations(ctx context.Context, p *params) (any, error) {
	f, err := httpsFilter(p)
	if err != nil {
		return nil, err
	}
	if f.SiteVersion, err = p.int("SiteVersion"); err != nil {
		return nil, err
	}
	list, total, err := s.HTTPS.ListHTTPSApplication(ctx, f)
	if err != nil {
		return nil, err
	}
	out := struct {
		Configs []httpsAppJSON
		listPage
	}{[]httpsAppJSON{}, pageOf(f.Page, total)}
	for _, a := range list {
		out.Configs = append(out.Configs, appJSON(a))
	}
	return out, nil
}

func (s *Server) updateHttpsApplicationConfiguration(ctx context.Context, p *params) (any, error) {
	a, err := appParams(p, true)
	if err != nil {
		return nil, err
	}
	_, err = s.HTTPS.UpdateHTTPSApplication(ctx, a, sent(p, appUpdatable))
	return nil, err
}

func (s *Server) deleteHttpsApplicationConfiguration(ctx context.Context, p *params) (any, error) {
	siteID, id, err := siteAndConfig(p)
	if err != nil {
		return nil, err
	}
	return nil, s.HTTPS.DeleteHTTPSApplication(ctx, siteID, id)
}

func (s *Server) listCiphers(ctx context.Context, p *params) (any, error) {
	group := p.str("CiphersGroup")
	names, err := s.HTTPS.Ciphers(group)
	if err != nil {
		return nil, err
	}
	return struct {
		CiphersGroup string
		Result       []string
		TotalCount   int64
	}{group, names, int64(len(names))}, nil
}
