package api

import (
	"context"

	"github.com/esacert/esacert/internal/httpsconf"
)

// The origin rule actions (CreateOriginRule and its siblings). They answer
// as the HTTPS configuration actions do: settings only when the client set
// them, rule fields only for rule configurations.

// originUpdatable are the parameters UpdateOriginRule changes when they are
// sent (an empty value unsets a setting).
var originUpdatable = []string{"Rule", "RuleName", "RuleEnable", "Sequence", "OriginScheme", "OriginHttpPort",
	"OriginHttpsPort", "OriginHost", "OriginSni", "OriginVerify", "OriginMtls", "OriginReadTimeout", "DnsRecord",
	"Range", "RangeChunkSize", "Follow302Enable", "Follow302MaxTries", "Follow302RetainArgs",
	"Follow302RetainHeader", "Follow302TargetHost"}

// originRuleJSON is an origin rule as GetOriginRule (flat, beside
// RequestId) and ListOriginRules' Configs[] show it.
type originRuleJSON struct {
	ConfigId   int64
	ConfigType string
	ruleJSON
	Sequence              int
	SiteVersion           int
	OriginScheme          string `json:",omitempty"`
	OriginHttpPort        string `json:",omitempty"`
	OriginHttpsPort       string `json:",omitempty"`
	OriginHost            string `json:",omitempty"`
	OriginSni             string `json:",omitempty"`
	OriginVerify          string `json:",omitempty"`
	OriginMtls            string `json:",omitempty"`
	OriginReadTimeout     string `json:",omitempty"`
	DnsRecord             string `json:",omitempty"`
	Range                 string `json:",omitempty"`
	RangeChunkSize        string `json:",omitempty"`
	Follow302Enable       string `json:",omitempty"`
	Follow302MaxTries     string `json:",omitempty"`
	Follow302RetainArgs   string `json:",omitempty"`
	Follow302RetainHeader string `json:",omitempty"`
	Follow302TargetHost   string `json:",omitempty"`
}

func originJSON(o httpsconf.OriginRule) originRuleJSON {
	return originRuleJSON{
		ConfigId:              o.ConfigID,
		ConfigType:            o.ConfigType,
		ruleJSON:              ruleFields(o.ConfigType, o.Rule, o.RuleName, o.RuleEnable),
		Sequence:              o.Sequence,
		SiteVersion:           o.SiteVersion,
		OriginScheme:          o.OriginScheme,
		OriginHttpPort:        o.OriginHttpPort,
		OriginHttpsPort:       o.OriginHttpsPort,
		OriginHost:            o.OriginHost,
		OriginSni:             o.OriginSni,
		OriginVerify:          o.OriginVerify,
		OriginMtls:            o.OriginMtls,
		OriginReadTimeout:     o.OriginReadTimeout,
		DnsRecord:             o.DnsRecord,
		Range:                 o.Range,
		RangeChunkSize:        o.RangeChunkSize,
		Follow302Enable:       o.Follow302Enable,
		Follow302MaxTries:     o.Follow302MaxTries,
		Follow302RetainArgs:   o.Follow302RetainArgs,
		Follow302RetainHeader: o.Follow302RetainHeader,
		Follow302TargetHost:   o.Follow302TargetHost,
	}
}

// originParams reads an origin rule from the request, as appParams does an
// application configuration.
func originParams(p *params, withID bool) (httpsconf.OriginRule, error) {
	var o httpsconf.OriginRule
	var err error
	if o.SiteID, err = p.requiredInt64("SiteId"); err != nil {
		return o, err
	}
	if withID {
		if o.ConfigID, err = p.requiredInt64("ConfigId"); err != nil {
			return o, err
		}
	} else if o.SiteVersion, err = p.int("SiteVersion"); err != nil {
		return o, err
	}
	if o.Sequence, err = p.int("Sequence"); err != nil {
		return o, err
	}
	o.Rule, o.RuleName, o.RuleEnable = p.str("Rule"), p.str("RuleName"), p.str("RuleEnable")
	o.OriginScheme, o.OriginHttpPort, o.OriginHttpsPort = p.str("OriginScheme"), p.str("OriginHttpPort"), p.str("OriginHttpsPort")
	o.OriginHost, o.OriginSni, o.OriginVerify = p.str("OriginHost"), p.str("OriginSni"), p.str("OriginVerify")
	o.OriginMtls, o.OriginReadTimeout, o.DnsRecord = p.str("OriginMtls"), p.str("OriginReadTimeout"), p.str("DnsRecord")
	o.Range, o.RangeChunkSize = p.str("Range"), p.str("RangeChunkSize")
	o.Follow302Enable, o.Follow302MaxTries = p.str("Follow302Enable"), p.str("Follow302MaxTries")
	o.Follow302RetainArgs, o.Follow302RetainHeader = p.str("Follow302RetainArgs"), p.str("Follow302RetainHeader")
	o.Follow302TargetHost = p.str("Follow302TargetHost")
	return o, nil
}

func (s *Server) createOriginRule(ctx context.Context, p *params) (any, error) {
	o, err := originParams(p, false)
	if err != nil {
		return nil, err
	}
	if o, err = s.HTTPS.CreateOriginRule(ctx, o); err != nil {
		return nil, err
	}
	return struct{ ConfigId int64 }{o.ConfigID}, nil
}

func (s *Server) getOriginRule(ctx context.Context, p *params) (any, error) {
	siteID, id, err := siteAndConfig(p)
	if err != nil {
		return nil, err
	}
	o, err := s.HTTPS.OriginRule(ctx, siteID, id)
	if err != nil {
		return nil, err
	}
	return originJSON(o), nil
}

func (s *Server) listOriginRules(ctx context.Context, p *params) (any, error) {
	f, err := httpsFilter(p)
	if err != nil {
		return nil, err
	}
	if f.SiteVersion, err = p.int("SiteVersion"); err != nil {
		return nil, err
	}
	list, total, err := s.HTTPS.ListOriginRules(ctx, f)
	if err != nil {
		return nil, err
	}
	out := struct {
		Configs []originRuleJSON
		listPage
	}{[]originRuleJSON{}, pageOf(f.Page, total)}
	for _, o := range list {
		out.Configs = append(out.Configs, originJSON(o))
	}
	return out, nil
}

func (s *Server) updateOriginRule(ctx context.Context, p *params) (any, error) {
	o, err := originParams(p, true)
	if err != nil {
		return nil, err
	}
	_, err = s.HTTPS.UpdateOriginRule(ctx, o, sent(p, originUpdatable))
	return nil, err
}

func (s *Server) deleteOriginRule(ctx context.Context, p *params) (any, error) {
	siteID, id, err := siteAndConfig(p)
	if err != nil {
		return nil, err
	}
	return nil, s.HTTPS.DeleteOriginRule(ctx, siteID, id)
}
