package api

import (
	"context"
	"slices"

	"github.com/esacert/esacert/internal/sitesetting"
)

// offFeature is a site feature esacert has no behaviour for. Its Get
// answers, for a site that exists (never a 404), ESA's off (or default)
// state in the SDK's shape, or for the parameters it keeps what a user set
// them to; its Update accepts what leaves the feature off and refuses,
// with Feature.NotSupported, what would turn it on (sitesetting.Fixed),
// rather than accept and ignore it.
type offFeature struct {
	name    string   // for messages
	get     string   // the Get action
	updates []string // the actions that change it
	// answer is the Get's answer (SiteId is the site's, for the shapes
	// that echo it; set(param) what param of kept was set to, "" when
	// never set); updated, when set, what an update answers.
	answer  func(siteID int64, set func(param string) string) any
	updated func(siteID int64) any
	// params are the update's parameters, each pinned to its off value.
	params []sitesetting.Fixed
	// kept are the params whose value a user sets is kept and answered
	// back (set): those of the attributes Terraform's alicloud_esa_site
	// has as Optional and not Computed, for which it plans a change when
	// the answer is not what its configuration holds (ESA answers "" for
	// one never set). The others answer ESA's default whatever was sent.
	kept []string
	// check, when set, checks what params cannot (a JSON parameter).
	check func(p *params) error
	// versioned: the actions take SiteVersion, which must be 0.
	versioned bool
}

// key is where the site's Config keeps param of f (one of kept).
func (f *offFeature) key(param string) string { return sitesetting.FeatureKey(f.updates[0], param) }

// onOff values of ESA's switches.
var switchValues = []string{sitesetting.On, sitesetting.Off}

// switchOff is an Enable switch left off.
func switchOff(feature string) []sitesetting.Fixed {
	return []sitesetting.Fixed{{Feature: feature, Param: "Enable", Off: sitesetting.Off, Valid: switchValues}}
}

type enableJSON struct{ Enable string }

// enableOff answers an Enable switch off; enableSet as it was set.
func enableOff(int64) any                                  { return enableJSON{sitesetting.Off} }
func enableSet(_ int64, set func(param string) string) any { return enableJSON{set("Enable")} }

// enable is the Enable switch kept as set.
var enable = []string{"Enable"}

// offFeatures is THE table of the features esacert answers as off: one row
// per feature (README lists them).
var offFeatures = []offFeature{
	{name: "cache tags", get: "GetCacheTag", updates: []string{"UpdateCacheTag"}, versioned: true,
		answer: func(_ int64, set func(string) string) any {
			return struct {
				CaseInsensitive string
				SiteVersion     int32
				TagName         string
			}{set("CaseInsensitive"), 0, ""}
		},
		params: []sitesetting.Fixed{
			{Feature: "cache tags", Param: "TagName"},
			{Feature: "cache tags", Param: "CaseInsensitive", Off: sitesetting.Off, Valid: switchValues},
		},
		kept: []string{"CaseInsensitive"}},
	{name: "cache reserve", get: "GetCacheReserve", updates: []string{"UpdateCacheReserve"},
		answer: func(_ int64, set func(string) string) any {
			return struct{ Enable, CacheReserveInstanceId string }{set("Enable"), ""}
		},
		params: []sitesetting.Fixed{
			{Feature: "cache reserve", Param: "Enable", Off: sitesetting.Off, Valid: switchValues},
			{Feature: "cache reserve", Param: "CacheReserveInstanceId"},
		},
		kept: enable},
	{name: "HTTP DDoS intelligent protection", get: "DescribeHttpDDoSAttackIntelligentProtection",
		updates: []string{"SetHttpDDoSAttackIntelligentProtection"},
		answer:  func(id int64, _ func(string) string) any { return aiProtection(id) }, updated: aiProtection,
		params: []sitesetting.Fixed{
			{Feature: "HTTP DDoS intelligent protection", Param: "AiMode", Off: "observe", Valid: []string{"observe", "defense"}},
			{Feature: "HTTP DDoS intelligent protection", Param: "AiTemplate", Off: "level60",
				Valid: []string{"level0", "level30", "level60", "level90"}},
		}},
	{name: "tiered cache", get: "GetTieredCache", updates: []string{"UpdateTieredCache"},
		answer: func(int64, func(string) string) any { return struct{ CacheArchitectureMode string }{"edge"} },
		params: []sitesetting.Fixed{{Feature: "tiered cache", Param: "CacheArchitectureMode", Off: "edge",
			Valid: []string{"edge", "edge_smart", "edge_regional", "edge_regional_smart"}}}},
	{name: "cross-border optimization", get: "GetCrossBorderOptimization", updates: []string{"UpdateCrossBorderOptimization"},
		answer: enableSet, params: switchOff("cross-border optimization"), kept: enable},
	{name: "site hold", get: "GetSiteNameExclusive", updates: []string{"UpdateSiteNameExclusive"},
		answer: enableSet, params: switchOff("site hold (site name exclusivity)"), kept: enable},
	{name: "CNAME flattening", get: "GetCnameFlattening", updates: []string{"UpdateCnameFlattening"},
		answer: func(_ int64, set func(string) string) any { return struct{ FlattenMode string }{set("FlattenMode")} },
		params: []sitesetting.Fixed{{Feature: "flattening of CNAMEs other than the root's", Param: "FlattenMode",
			Off: "flatten_at_root", Valid: []string{"flatten_all", "flatten_at_root"}}},
		kept: []string{"FlattenMode"}},
	{name: "SEO bypass", get: "GetSeoBypass", updates: []string{"UpdateSeoBypass"},
		answer: enableSet, params: switchOff("SEO bypass"), kept: enable},
	{name: "development mode", get: "GetDevelopmentMode", updates: []string{"UpdateDevelopmentMode"},
		answer: enableSet, params: switchOff("development mode"), kept: enable},
	{name: "HTTP DDoS attack protection", get: "DescribeHttpDDoSAttackProtection", updates: []string{"SetHttpDDoSAttackProtection"},
		answer: func(id int64, _ func(string) string) any { return ddosProtection(id) }, updated: ddosProtection,
		params: []sitesetting.Fixed{{Feature: "HTTP DDoS attack protection levels", Param: "GlobalMode", Off: "default",
			Valid: []string{"very weak", "weak", "default", "hard"}}}},
	{name: "automatic frequency control", get: "GetAutomaticFrequencyControlConfig",
		updates: []string{"SetAutomaticFrequencyControlConfig"}, versioned: true,
		answer: func(id int64, _ func(string) string) any { return enableOff(id) }, updated: enableOff,
		params: []sitesetting.Fixed{
			{Feature: "automatic frequency control", Param: "Enable", Off: sitesetting.Off, Valid: switchValues},
			{Feature: "automatic frequency control", Param: "ActionType", Valid: []string{"observe", "deny", "js"}},
			{Feature: "automatic frequency control", Param: "Level", Valid: []string{"loose", "normal", "strict"}},
		}},
	{name: "performance data collection", get: "GetPerformanceDataCollection", updates: []string{"UpdatePerformanceDataCollection"},
		answer: enableSet, params: switchOff("performance data collection"), kept: enable},
	{name: "WAF site settings", get: "GetSiteWafSettings", updates: []string{"EditSiteWafSettings"}, versioned: true,
		answer: func(int64, func(string) string) any { return struct{ Settings wafSettings }{wafOff()} },
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
// returns the site's Config: an unknown site is SiteNotFound, as GetSite
// answers it.
func (s *Server) offSite(ctx context.Context, p *params, f *offFeature) (int64, sitesetting.Config, error) {
	id, err := p.requiredInt64("SiteId")
	if err != nil {
		return 0, sitesetting.Config{}, err
	}
	c, err := s.Settings.Config(ctx, id)
	if err != nil {
		return 0, sitesetting.Config{}, err
	}
	if f.versioned {
		v, err := p.int64("SiteVersion")
		if err != nil {
			return 0, sitesetting.Config{}, err
		}
		if err := sitesetting.SiteVersion(v); err != nil {
			return 0, sitesetting.Config{}, err
		}
	}
	return id, c, nil
}

func (s *Server) offGet(ctx context.Context, p *params, f *offFeature) (any, error) {
	id, c, err := s.offSite(ctx, p, f)
	if err != nil {
		return nil, err
	}
	if f.get == "GetSiteWafSettings" {
		return wafPath(p.str("Path"))
	}
	return f.answer(id, func(param string) string { return c.Feature(f.key(param)) }), nil
}

func (s *Server) offUpdate(ctx context.Context, p *params, f *offFeature) (any, error) {
	id, _, err := s.offSite(ctx, p, f)
	if err != nil {
		return nil, err
	}
	if f.check != nil {
		if err := f.check(p); err != nil {
			return nil, err
		}
	}
	values := make([]sitesetting.FeatureValue, len(f.params))
	for i, fx := range f.params {
		values[i] = sitesetting.FeatureValue{Rule: fx, Value: p.str(fx.Param), Sent: p.has(fx.Param)}
		if slices.Contains(f.kept, fx.Param) {
			values[i].Key = f.key(fx.Param)
		}
	}
	if err := s.Settings.SetFeatures(ctx, id, values); err != nil {
		return nil, err
	}
	if f.updated != nil {
		return f.updated(id), nil
	}
	return nil, nil
}
