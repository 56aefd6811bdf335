package sitesetting

import (
	"context"
	"fmt"

	"github.com/esacert/esacert/internal/domain"
)

// Service holds the use cases on sites' feature settings and tags. Its
// fields are set once, before first use; after that it is safe for
// concurrent use.
type Service struct {
	Store Store // required
}

// Config returns the site's feature settings.
func (s *Service) Config(ctx context.Context, siteID int64) (Config, error) {
	return s.Store.SiteConfig(ctx, siteID)
}

// Check returns nil when the site exists (the settings esacert answers as
// off still belong to a site that must exist).
func (s *Service) Check(ctx context.Context, siteID int64) error {
	_, err := s.Store.SiteConfig(ctx, siteID)
	return err
}

// SetPaused pauses the site's proxying (UpdateSitePause), or resumes it.
func (s *Service) SetPaused(ctx context.Context, siteID int64, paused bool) error {
	_, err := s.Store.UpdateSiteConfig(ctx, siteID, func(c *Config) error {
		c.Paused = paused
		return nil
	})
	return err
}

// SetIPv6 turns IPv6 on or off (UpdateIPv6): enable is on or off (required);
// region, when not "", is RegionGlobal or RegionMainland.
func (s *Service) SetIPv6(ctx context.Context, siteID int64, enable, region string) error {
	if enable == "" {
		return domain.Missing("Enable")
	}
	on, err := switchValue("Enable", enable)
	if err != nil {
		return err
	}
	if region != "" && region != RegionGlobal && region != RegionMainland {
		return domain.Invalid("Region", "must be x.x (global) or cn.cn (the Chinese mainland)")
	}
	_, err = s.Store.UpdateSiteConfig(ctx, siteID, func(c *Config) error {
		c.IPv6 = on
		if region != "" {
			c.IPv6Region = region
		}
		return nil
	})
	return err
}

// TransformInput is what UpdateManagedTransform sends, taken as the whole
// of the site's managed transforms: a setting left out or "" is not set
// (it reads "" and is off; the header name is then the default). The
// Terraform provider sends every one its configuration sets, and leaves
// out the ones it no longer sets.
type TransformInput struct {
	AddRealClientIPHeader      string // on or off
	RealClientIPHeaderName     string // see CheckHeaderName
	AddClientGeolocationHeader string // only off: esacert adds no geolocation header
	SiteVersion                int64  // only 0: esacert has no version management
}

// Transform geolocation and version rules: esacert has neither feature.
var (
	geolocationHeader = Fixed{Feature: "the client geolocation header", Param: "AddClientGeolocationHeader",
		Off: Off, Valid: []string{On, Off}}
	siteVersion = Fixed{Feature: "version management (site versions other than 0)", Param: "SiteVersion", Off: "0"}
)

// SiteVersion checks a SiteVersion parameter: esacert keeps one version of
// a site's configuration, 0.
func SiteVersion(v int64) error {
	if v == 0 {
		return nil
	}
	return siteVersion.Check(fmt.Sprint(v))
}

// SetManagedTransform sets the managed transforms (UpdateManagedTransform)
// to in: a setting in leaves "" is no longer set.
func (s *Service) SetManagedTransform(ctx context.Context, siteID int64, in TransformInput) error {
	var on, set bool
	if in.AddRealClientIPHeader != "" {
		v, err := switchValue("AddRealClientIpHeader", in.AddRealClientIPHeader)
		if err != nil {
			return err
		}
		on, set = v, true
	}
	name := ""
	if in.RealClientIPHeaderName != "" {
		var err error
		if name, err = CheckHeaderName("RealClientIpHeaderName", in.RealClientIPHeaderName); err != nil {
			return err
		}
	}
	if err := geolocationHeader.Check(in.AddClientGeolocationHeader); err != nil {
		return err
	}
	if err := SiteVersion(in.SiteVersion); err != nil {
		return err
	}
	_, err := s.Store.UpdateSiteConfig(ctx, siteID, func(c *Config) error {
		c.RealClientIPHeader, c.RealClientIPHeaderSet, c.RealClientIPHeaderName = on, set, name
		c.SetFeature(geolocationKey, in.AddClientGeolocationHeader)
		return nil
	})
	return err
}
