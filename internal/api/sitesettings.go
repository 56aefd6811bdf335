package api

import (
	"context"

	"github.com/esacert/esacert/internal/sitesetting"
)

// The site settings esacert has behaviour for (the edge obeys them):
// pausing, IPv6, the real-client-IP header of managed transforms, and the
// coverage of a site. The ones it answers as off are in sitefeatures.go.

// siteSettings reads the SiteId of a settings action and returns the
// site's Config: an unknown site is SiteNotFound, as GetSite answers it.
func (s *Server) siteSettings(ctx context.Context, p *params) (int64, sitesetting.Config, error) {
	id, err := p.requiredInt64("SiteId")
	if err != nil {
		return 0, sitesetting.Config{}, err
	}
	c, err := s.Settings.Config(ctx, id)
	return id, c, err
}

func onOff(b bool) string {
	if b {
		return sitesetting.On
	}
	return sitesetting.Off
}

func (s *Server) getSitePause(ctx context.Context, p *params) (any, error) {
	_, c, err := s.siteSettings(ctx, p)
	if err != nil {
		return nil, err
	}
	return struct{ Paused bool }{c.Paused}, nil
}

func (s *Server) updateSitePause(ctx context.Context, p *params) (any, error) {
	id, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	if _, err := p.required("Paused"); err != nil {
		return nil, err
	}
	paused, err := p.boolean("Paused")
	if err != nil {
		return nil, err
	}
	return nil, s.Settings.SetPaused(ctx, id, paused)
}

func (s *Server) getIPv6(ctx context.Context, p *params) (any, error) {
	_, c, err := s.siteSettings(ctx, p)
	if err != nil {
		return nil, err
	}
	return struct{ Enable, Region string }{onOff(c.IPv6), c.IPv6Region}, nil
}

func (s *Server) updateIPv6(ctx context.Context, p *params) (any, error) {
	id, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	return nil, s.Settings.SetIPv6(ctx, id, p.str("Enable"), p.str("Region"))
}

func (s *Server) getManagedTransform(ctx context.Context, p *params) (any, error) {
	version, err := p.int64("SiteVersion")
	if err != nil {
		return nil, err
	}
	if err := sitesetting.SiteVersion(version); err != nil {
		return nil, err
	}
	_, c, err := s.siteSettings(ctx, p)
	if err != nil {
		return nil, err
	}
	return struct {
		AddClientGeolocationHeader string
		AddRealClientIpHeader      string
		RealClientIpHeaderName     string
		SiteVersion                int32
	}{c.AddClientGeolocationHeader(), c.AddRealClientIPHeader(), c.RealClientIPHeaderName, 0}, nil
}

func (s *Server) updateManagedTransform(ctx context.Context, p *params) (any, error) {
	id, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	version, err := p.int64("SiteVersion")
	if err != nil {
		return nil, err
	}
	return nil, s.Settings.SetManagedTransform(ctx, id, sitesetting.TransformInput{
		AddRealClientIPHeader:      p.str("AddRealClientIpHeader"),
		RealClientIPHeaderName:     p.str("RealClientIpHeaderName"),
		AddClientGeolocationHeader: p.str("AddClientGeolocationHeader"),
		SiteVersion:                version,
	})
}

func (s *Server) updateSiteCoverage(ctx context.Context, p *params) (any, error) {
	id, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	return nil, s.Sites.UpdateSiteCoverage(ctx, id, p.str("Coverage"))
}

// activateVersionManagement is refused: esacert keeps one version of a
// site's configuration (GetSite answers VersionManagement false).
func (s *Server) activateVersionManagement(ctx context.Context, p *params) (any, error) {
	id, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	if err := s.Settings.Check(ctx, id); err != nil {
		return nil, err
	}
	return nil, sitesetting.Unsupported("version management", "VersionManagement")
}

// deactivateVersionManagement leaves version management off, as it is.
func (s *Server) deactivateVersionManagement(ctx context.Context, p *params) (any, error) {
	id, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	return nil, s.Settings.Check(ctx, id)
}
