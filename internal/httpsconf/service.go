package httpsconf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/site"
)

// Service holds the use cases on HTTPS configurations. Its fields are set
// once, before first use; after that a Service is safe for concurrent use.
// The zero Service answers Ciphers; the other use cases need Store and
// Sites.
type Service struct {
	// Store stores the configurations; without it their use cases fail.
	Store Store
	// Sites finds the site a request names.
	Sites SiteStore
	// Rand is the source of configuration ids; nil means crypto/rand.
	Rand io.Reader
}

// httpsStore returns the store of HTTPS configurations.
func (s *Service) httpsStore() (Store, error) {
	if s.Store == nil {
		return nil, errors.New("httpsconf: the service has no HTTPS configuration store")
	}
	return s.Store, nil
}

// configID draws a 15-digit configuration id, the shape ESA's have.
func (s *Service) configID() int64 { return domain.NumericID(s.Rand, 15) }

// siteFor returns the site a request names (see site.Lookup).
func (s *Service) siteFor(ctx context.Context, siteID int64) (site.Site, error) {
	return site.Lookup(ctx, s.Sites, siteID)
}

// createHTTPS validates c and stores it with a fresh ConfigID. c's type
// follows from its rule fields: none set makes it global.
func (s *Service) createHTTPS(ctx context.Context, c HTTPSConfig) (HTTPSConfig, error) {
	store, err := s.httpsStore()
	if err != nil {
		return HTTPSConfig{}, err
	}
	st, err := s.siteFor(ctx, c.SiteID)
	if err != nil {
		return HTTPSConfig{}, err
	}
	c.ConfigType = ConfigGlobal
	if c.Rule != "" || c.RuleName != "" || c.RuleEnable != "" {
		c.ConfigType = ConfigRule
	}
	if err := validateHTTPS(c, st); err != nil {
		return HTTPSConfig{}, err
	}
	for attempt := 0; ; attempt++ {
		c.ConfigID = s.configID()
		err = store.CreateHTTPSConfig(ctx, c)
		if errors.Is(err, domain.ErrExists) && attempt < 5 {
			continue // an id clash: draw again
		}
		break
	}
	if err != nil { // ErrSiteNotFound: the site was deleted meanwhile
		return HTTPSConfig{}, site.AsParam(err)
	}
	return c, nil
}

// checkConfigID checks a ConfigId parameter and the site it names.
func (s *Service) checkConfigID(ctx context.Context, siteID, id int64) (Store, site.Site, error) {
	store, err := s.httpsStore()
	if err != nil {
		return nil, site.Site{}, err
	}
	st, err := s.siteFor(ctx, siteID)
	if err != nil {
		return nil, site.Site{}, err
	}
	if id <= 0 {
		return nil, site.Site{}, domain.Invalid("ConfigId", "must be a positive integer")
	}
	return store, st, nil
}

func (s *Service) getHTTPS(ctx context.Context, family string, siteID, id int64) (HTTPSConfig, error) {
	store, _, err := s.checkConfigID(ctx, siteID, id)
	if err != nil {
		return HTTPSConfig{}, err
	}
	return store.HTTPSConfig(ctx, family, siteID, id)
}

func (s *Service) listHTTPS(ctx context.Context, f HTTPSFilter) ([]HTTPSConfig, int, error) {
	store, err := s.httpsStore()
	if err != nil {
		return nil, 0, err
	}
	if _, err := s.siteFor(ctx, f.SiteID); err != nil {
		return nil, 0, err
	}
	if f.ConfigType != "" && f.ConfigType != ConfigGlobal && f.ConfigType != ConfigRule {
		return nil, 0, domain.Invalid("ConfigType", "must be global or rule")
	}
	if f.ConfigID < 0 {
		return nil, 0, domain.Invalid("ConfigId", "must be a positive integer")
	}
	return store.ListHTTPSConfigs(ctx, f)
}

// updateHTTPS changes, of the configuration change.ConfigID of
// change.SiteID, the fields fields names (parameter names) to their values
// in change; an empty value unsets a setting. The type of a configuration
// never changes.
func (s *Service) updateHTTPS(ctx context.Context, change HTTPSConfig, fields []string) (HTTPSConfig, error) {
	store, st, err := s.checkConfigID(ctx, change.SiteID, change.ConfigID)
	if err != nil {
		return HTTPSConfig{}, err
	}
	table := familySettings(change.Family)
	isSetting := map[string]bool{}
	for _, f := range table {
		isSetting[f.name] = true
	}
	for _, name := range fields {
		switch name {
		case "Rule", "RuleName", "RuleEnable", "Sequence":
		default:
			if !isSetting[name] {
				return HTTPSConfig{}, fmt.Errorf("httpsconf: %s is no updatable field of the %s family", name, change.Family)
			}
		}
	}
	return store.UpdateHTTPSConfig(ctx, change.Family, st.ID, change.ConfigID, func(c *HTTPSConfig) error {
		if c.Settings == nil {
			c.Settings = map[string]string{}
		}
		oldSNI, hadSNI := c.Settings["HttpsSniWhitelist"]
		for _, name := range fields {
			switch name {
			case "Rule":
				c.Rule = change.Rule
			case "RuleName":
				c.RuleName = change.RuleName
			case "RuleEnable":
				c.RuleEnable = change.RuleEnable
			case "Sequence":
				c.Sequence = change.Sequence
			default:
				if v := change.Settings[name]; v != "" {
					c.Settings[name] = v
				} else {
					delete(c.Settings, name)
				}
			}
		}
		if v, ok := c.Settings["HttpsSniWhitelist"]; hadSNI && ok && v == oldSNI {
			// A list stored before its names were checked does not
			// stand in the way of a change to the other fields.
			check := *c
			check.Settings = maps.Clone(c.Settings)
			delete(check.Settings, "HttpsSniWhitelist")
			return validateHTTPS(check, st)
		}
		return validateHTTPS(*c, st)
	})
}

func (s *Service) deleteHTTPS(ctx context.Context, family string, siteID, id int64) error {
	store, _, err := s.checkConfigID(ctx, siteID, id)
	if err != nil {
		return err
	}
	return store.DeleteHTTPSConfig(ctx, family, siteID, id)
}

// CreateHTTPSBasic creates an HTTPS basic configuration on b.SiteID and
// returns it with its ConfigID and ConfigType. Without Rule, RuleName and
// RuleEnable it is the site's global configuration (a second one is
// ErrGlobalConfigExists); else it is a rule configuration, which needs Rule.
// A missing site is a ParamError naming SiteId.
func (s *Service) CreateHTTPSBasic(ctx context.Context, b HTTPSBasic) (HTTPSBasic, error) {
	c, err := s.createHTTPS(ctx, b.Config())
	return c.Basic(), err
}

// HTTPSBasic returns an HTTPS basic configuration of a site, or ErrConfigNotFound.
func (s *Service) HTTPSBasic(ctx context.Context, siteID, configID int64) (HTTPSBasic, error) {
	c, err := s.getHTTPS(ctx, FamilyHTTPSBasic, siteID, configID)
	return c.Basic(), err
}

// ListHTTPSBasic returns one page of a site's HTTPS basic configurations
// that match f, and how many match in all.
func (s *Service) ListHTTPSBasic(ctx context.Context, f HTTPSFilter) ([]HTTPSBasic, int, error) {
	f.Family = FamilyHTTPSBasic
	list, total, err := s.listHTTPS(ctx, f)
	out := make([]HTTPSBasic, 0, len(list))
	for _, c := range list {
		out = append(out, c.Basic())
	}
	return out, total, err
}

// UpdateHTTPSBasic changes the configuration b.ConfigID of b.SiteID: each
// field that fields names (by parameter name: Https, Tls13, Rule, Sequence
// …) takes its value in b, and an empty value unsets a setting. Other
// fields keep their values. It returns the configuration as stored.
func (s *Service) UpdateHTTPSBasic(ctx context.Context, b HTTPSBasic, fields []string) (HTTPSBasic, error) {
	c, err := s.updateHTTPS(ctx, b.Config(), fields)
	return c.Basic(), err
}

// DeleteHTTPSBasic removes an HTTPS basic configuration of a site.
func (s *Service) DeleteHTTPSBasic(ctx context.Context, siteID, configID int64) error {
	return s.deleteHTTPS(ctx, FamilyHTTPSBasic, siteID, configID)
}

// CreateHTTPSApplication creates an HTTPS application configuration, as
// CreateHTTPSBasic does a basic one.
func (s *Service) CreateHTTPSApplication(ctx context.Context, a HTTPSApplication) (HTTPSApplication, error) {
	c, err := s.createHTTPS(ctx, a.Config())
	return c.Application(), err
}

// HTTPSApplication returns an HTTPS application configuration of a site,
// or ErrConfigNotFound.
func (s *Service) HTTPSApplication(ctx context.Context, siteID, configID int64) (HTTPSApplication, error) {
	c, err := s.getHTTPS(ctx, FamilyHTTPSApplication, siteID, configID)
	return c.Application(), err
}

// ListHTTPSApplication returns one page of a site's HTTPS application
// configurations that match f, and how many match in all.
func (s *Service) ListHTTPSApplication(ctx context.Context, f HTTPSFilter) ([]HTTPSApplication, int, error) {
	f.Family = FamilyHTTPSApplication
	list, total, err := s.listHTTPS(ctx, f)
	out := make([]HTTPSApplication, 0, len(list))
	for _, c := range list {
		out = append(out, c.Application())
	}
	return out, total, err
}

// UpdateHTTPSApplication changes an HTTPS application configuration, as
// UpdateHTTPSBasic does a basic one. SiteVersion cannot change.
func (s *Service) UpdateHTTPSApplication(ctx context.Context, a HTTPSApplication, fields []string) (HTTPSApplication, error) {
	c, err := s.updateHTTPS(ctx, a.Config(), fields)
	return c.Application(), err
}

// DeleteHTTPSApplication removes an HTTPS application configuration of a site.
func (s *Service) DeleteHTTPSApplication(ctx context.Context, siteID, configID int64) error {
	return s.deleteHTTPS(ctx, FamilyHTTPSApplication, siteID, configID)
}
