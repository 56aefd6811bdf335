package api

import (
	"context"

	"github.com/esacert/esacert/internal/sitesetting"
)

// offFeature is a site feature esacert has no behaviour for. Its Get
// answers ESA's off (or default) state in the SDK's shape, and never
// 404s for a site that exists; its Update accepts what leaves the feature
// off and refuses, with Feature.NotSupported, what would turn it on
// (sitesetting.Fixed), rather than accept and ignore it.
type offFeature struct {
	name    string   // for messages
	get     string   // the Get action
	updates []string // the actions that change it
	// answer is the Get's answer (SiteId is the site's, for the shapes
	// that echo it); updated, when set, what an update answers.
	answer  func(siteID int64) any
	updated func(siteID int64) any
	// params are the update's parameters, each pinned to its off value.
	params []sitesetting.Fixed
	// check, when set, checks what params cannot (a JSON parameter).
	check func(p *params) error
	// versioned: the actions take SiteVersion, which must be 0.
	versioned bool
}

// onOff values of ESA's switches.
var switchValues = []string{sitesetting.On, sitesetting.Off}

// switchOff is an Enable switch left off.
func switchOff(feature string) []sitesetting.Fixed {
	return []sitesetting.Fixed{{Feature: feature, Param: "Enable", Off: sitesetting.Off, Valid: switchValues}}
}

type enableJSON struct{ Enable string }

func enableOff(int64) any { return enableJSON{sitesetting.Off} }

// offFeatures is THE table of the features esacert answers as off: one row
// per feature (README lists them).
var offFeatures = []offFeature{
	{name: "cache tags", get: "GetCacheTag", updates: []string{"UpdateCacheTag"}, versioned: true,
		answer: func(int64) any {
			return struct {
				CaseInsensitive string
				SiteVersion     int32
				TagName         string
			}{sitesetting.Off, 0, ""}
		},
		params: []sitesetting.Fixed{
			{Feature: "cache tags", Param: "TagName"},
			{Feature: "cache tags", Param: "CaseInsensitive", Off: sitesetting.Off, Valid: switchValues},
		}},
	{name: "cache reserve", get: "GetCacheReserve", updates: []string{"UpdateCacheReserve"},
		answer: func(int64) any { return struct{ Enable, CacheReserveInstanceId string }{sitesetting.Off, ""} },
		params: []sitesetting.Fixed{
			{Feature: "cache reserve", Param: "Enable", Off: sitesetting.Off, Valid: switchValues},
			{Feature: "cache reserve", Param: "CacheReserveInstanceId"},
		}},
	{name: "HTTP DDoS intelligent protection", get: "DescribeHttpDDoSAttackIntelligentProtection",
		updates: []string{"SetHttpDDoSAttackIntelligentProtection"},
		answer:  aiProtection, updated: aiProtection,
		params: []sitesetting.Fixed{
			{Feature: "HTTP DDoS intelligent protection", Param: "AiMode", Off: "observe", Valid: []string{"observe", "defense"}},
			{Feature: "HTTP DDoS intelligent protection", Param: "AiTemplate", Off: "level60",
				Valid: []string{"level0", "level30", "level60", "level90"}},
		}},
	{name: "tiered cache", get: "GetTieredCache", updates: []string{"UpdateTieredCache"},
		answer: func(int64) any { return struct{ CacheArchitectureMode string }{"edge"} },
		params: []sitesetting.Fixed{{Feature: "tiered cache", Param: "CacheArchitectureMode", Off: "edge",
			Valid: []string{"edge", "edge_smart", "edge_regional", "edge_regional_smart"}}}},
	{name: "cross-border optimization", get: "GetCrossBorderOptimization", updates: []string{"UpdateCrossBorderOptimization"},
		answer: enableOff, params: switchOff("cross-border optimization")},
	{name: "site hold", get: "GetSiteNameExclusive", updates: []string{"UpdateSiteNameExclusive"},
		answer: enableOff, params: switchOff("site hold (site name exclusivity)")},
	{name: "CNAME flattening", get: "GetCnameFlattening", updates: []string{"UpdateCnameFlattening"},
		answer: func(int64) any { return struct{ FlattenMode string }{"flatten_at_root"} },
		params: []sitesetting.Fixed{{Feature: "flattening of CNAMEs other than the root's", Param: "FlattenMode",
			Off: "flatten_at_root", Valid: []string{"flatten_all", "flatten_at_root"}}}},
	{name: "SEO bypass", get: "GetSeoBypass", updates: []string{"UpdateSeoBypass"},
		answer: enableOff, params: switchOff("SEO bypass")},
	{name: "development mode", get: "GetDevelopmentMode", updates: []string{"UpdateDevelopmentMode"},
		answer: enableOff, params: switchOff("development mode")},
	{name: "HTTP DDoS attack protection", get: "DescribeHttpDDoSAttackProtection", updates: []string{"SetHttpDDoSAttackProtection"},
		answer: ddosProtection, updated: ddosProtection,
		params: []sitesetting.Fixed{{Feature: "HTTP DDoS attack protection levels", Param: "GlobalMode", Off: "default",
			Valid: []string{"very weak", "weak", "default", "hard"}}}},
	{name: "automatic frequency control", get: "GetAutomaticFrequencyControlConfig",
		updates: []string{"SetAutomaticFrequencyControlConfig"}, versioned: true,
		answer: enableOff, updated: enableOff,
		params: []sitesetting.Fixed{
			{Feature: "automatic frequency control", Param: "Enable", Off: sitesetting.Off, Valid: switchValues},
			{Feature: "automatic frequency control", Param: "ActionType", Valid: []string{"observe", "deny", "js"}},
			{Feature: "automatic frequency control", Param: "Level", Valid: []string{"loose", "normal", "strict"}},
		}},
	{name: "performance data collection", get: "GetPerformanceDataCollection", updates: []string{"UpdatePerformanceDataCollection"},
		answer: enableOff, params: switchOff("performance data collection")},
	{name: "WAF site settings", get: "GetSiteWafSettings", updates: []string{"EditSiteWafSettings"}, versioned: true,
		answer: func(int64) any { return struct{ Settings wafSettings }{wafOff()} },
		check:  checkWafSettings},
}

func aiProtection(id int64) any {
	return struct {
		AiMode, AiTemplate string
		SiteId             int64
	}{"observe", "level60", id}
}

func ddosProtection(id int64) any {
	return struct {
		GlobalMode string
		SiteId     int64
	}{"default", id}
}

// offActions indexes offFeatures by action name.
var offActions = func() map[string]*offFeature {
	m := map[string]*offFeature{}
	for i := range offFeatures {
		f := &offFeatures[i]
		m[f.get] = f
		for _, u := range f.updates {
			m[u] = f
		}
	}
	return m
}()

// off returns the action that answers name from offFeatures.
func off(name string) action {
	f, ok := offActions[name]
	if !ok {
		panic("api: " + name + " is no action of offFeatures")
	}
	if name == f.get {
		return func(s *Server, ctx context.Context, p *params) (any, error) { return s.offGet(ctx, p, f) }
	}
	return func(s *Server, ctx context.Context, p *params) (any, error) { return s.offUpdate(ctx, p, f) }
}

// offSite reads the SiteId (and SiteVersion) of an off feature's action and
// checks that the site exists: an unknown one is SiteNotFound, as GetSite
// answers it.
func (s *Server) offSite(ctx context.Context, p *params, f *offFeature) (int64, error) {
	id, err := p.requiredInt64("SiteId")
	if err != nil {
		return 0, err
	}
	if err := s.Settings.Check(ctx, id); err != nil {
		return 0, err
	}
	if f.versioned {
		v, err := p.int64("SiteVersion")
		if err != nil {
			return 0, err
		}
		if err := sitesetting.SiteVersion(v); err != nil {
			return 0, err
		}
	}
	return id, nil
}

func (s *Server) offGet(ctx context.Context, p *params, f *offFeature) (any, error) {
	id, err := s.offSite(ctx, p, f)
	if err != nil {
		return nil, err
	}
	if f.get == "GetSiteWafSettings" {
		return wafPath(p.str("Path"))
	}
	return f.answer(id), nil
}

func (s *Server) offUpdate(ctx context.Context, p *params, f *offFeature) (any, error) {
	id, err := s.offSite(ctx, p, f)
	if err != nil {
		return nil, err
	}
	for _, fx := range f.params {
		if err := fx.Check(p.str(fx.Param)); err != nil {
			return nil, err
		}
	}
	if f.check != nil {
		if err := f.check(p); err != nil {
			return nil, err
		}
	}
	if f.updated != nil {
		return f.updated(id), nil
	}
	return nil, nil
}
