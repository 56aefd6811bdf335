package api

import (
	"context"
	"strings"

	"github.com/esacert/esacert/internal/cert"
)

// dnsRecordJSON is a DNS record as GetRecord's RecordModel and ListRecords'
// Records[] show it (esa-more-api.md §2.3, §2.4). Data and AuthConf are JSON
// objects with PascalCase keys, never strings: the SDKs decode them case
// sensitively and Terraform type-asserts them to maps. Data holds the fields
// of the record's type, zeros included; AuthConf is left out when the
// record has none, and its keys show masked. RecordSourceType is there for
// CNAME records that have one: Terraform reads back what it sent, so a
// default it did not send would show as a diff.
type dnsRecordJSON struct {
	RecordId         int64
	RecordName       string
	RecordType       string
	RecordSourceType string `json:",omitempty"`
	RecordCname      string `json:",omitempty"`
	SiteId           int64
	SiteName         string
	Proxied          bool
	Ttl              int
	Data             map[string]any
	AuthConf         map[string]string `json:",omitempty"`
	BizName          string            `json:",omitempty"`
	HostPolicy       string            `json:",omitempty"`
	Comment          string            `json:",omitempty"`
	CreateTime       string
	UpdateTime       string
}

func (s *Server) dnsRecordJSON(r cert.Record) dnsRecordJSON {
	j := dnsRecordJSON{
		RecordId:   r.ID,
		RecordName: r.Name,
		RecordType: r.Type,
		SiteId:     r.SiteID,
		SiteName:   r.SiteName,
		Proxied:    r.Proxied,
		Ttl:        r.Ttl,
		Data:       map[string]any{},
		BizName:    r.BizName,
		HostPolicy: r.HostPolicy,
		Comment:    r.Comment,
		CreateTime: fmtSiteTime(r.Created),
		UpdateTime: fmtSiteTime(r.Updated),
	}
	if r.Type == cert.RecordCNAME {
		j.RecordSourceType = r.SourceType
	}
	if zone := strings.Trim(s.CnameZone, "."); zone != "" {
		j.RecordCname = r.Name + "." + zone
	}
	for _, f := range cert.DataFields(r.Type) {
		if v := r.Data.Field(f); v != "" {
			j.Data[f] = v
		}
	}
	if a := r.AuthConf; !a.IsZero() {
		j.AuthConf = map[string]string{}
		for k, v := range map[string]string{"AuthType": a.AuthType, "AccessKey": a.AccessKey,
			"SecretKey": a.SecretKey, "Region": a.Region, "Version": a.Version} {
			if v != "" {
				j.AuthConf[k] = v
			}
		}
	}
	return j
}

// recordInput reads the parameters CreateRecord and UpdateRecord share. A
// parameter that is absent stays nil; Data and Proxied sent empty count as
// absent, AuthConf sent empty removes the record's.
func recordInput(p *params) (cert.RecordInput, error) {
	var in cert.RecordInput
	if raw := p.str("Data"); strings.TrimSpace(raw) != "" {
		d, err := cert.ParseRecordData(raw)
		if err != nil {
			return in, err
		}
		in.Data = &d
	}
	if p.has("AuthConf") {
		a, err := cert.ParseAuthConf(p.str("AuthConf"))
		if err != nil {
			return in, err
		}
		in.AuthConf = &a
	}
	if strings.TrimSpace(p.str("Proxied")) != "" {
		b, err := p.boolean("Proxied")
		if err != nil {
			return in, err
		}
		in.Proxied = &b
	}
	if strings.TrimSpace(p.str("Ttl")) != "" {
		n, err := p.int("Ttl")
		if err != nil {
			return in, err
		}
		in.Ttl = &n
	}
	for name, dst := range map[string]**string{"Type": &in.Type, "BizName": &in.BizName, "Comment": &in.Comment,
		"SourceType": &in.SourceType, "HostPolicy": &in.HostPolicy} {
		if p.has(name) {
			v := p.str(name)
			*dst = &v
		}
	}
	return in, nil
}

func (s *Server) createRecord(ctx context.Context, p *params) (any, error) {
	siteID, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	in, err := recordInput(p)
	if err != nil {
		return nil, err
	}
	in.SiteID, in.Name = siteID, p.str("RecordName")
	r, err := s.Service.CreateRecord(ctx, in)
	if err != nil {
		return nil, err
	}
	return struct{ RecordId int64 }{r.ID}, nil
}

func (s *Server) getRecord(ctx context.Context, p *params) (any, error) {
	id, err := p.requiredInt64("RecordId")
	if err != nil {
		return nil, err
	}
	r, err := s.Service.Record(ctx, id)
	if err != nil {
		return nil, err
	}
	return struct{ RecordModel dnsRecordJSON }{s.dnsRecordJSON(r)}, nil
}

func (s *Server) listRecords(ctx context.Context, p *params) (any, error) {
	siteID, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	page, err := p.page(500, 500)
	if err != nil {
		return nil, err
	}
	f := cert.RecordFilter{
		SiteID:     siteID,
		Name:       p.str("RecordName"),
		NameMatch:  p.str("RecordMatchType"),
		Type:       p.str("Type"),
		SourceType: p.str("SourceType"),
		Page:       page,
	}
	if strings.TrimSpace(p.str("Proxied")) != "" {
		b, err := p.boolean("Proxied")
		if err != nil {
			return nil, err
		}
		f.Proxied = &b
	}
	if b := p.str("BizName"); b != "" {
		f.BizNames = []string{b}
	}
	list, total, err := s.Service.ListRecords(ctx, f)
	if err != nil {
		return nil, err
	}
	out := struct {
		PageNumber int
		PageSize   int
		TotalCount int
		Records    []dnsRecordJSON
	}{page.Offset/page.Limit + 1, page.Limit, total, []dnsRecordJSON{}}
	for _, r := range list {
		out.Records = append(out.Records, s.dnsRecordJSON(r))
	}
	return out, nil
}

func (s *Server) updateRecord(ctx context.Context, p *params) (any, error) {
	id, err := p.requiredInt64("RecordId")
	if err != nil {
		return nil, err
	}
	in, err := recordInput(p)
	if err != nil {
		return nil, err
	}
	_, err = s.Service.UpdateRecord(ctx, id, in)
	return nil, err
}

func (s *Server) deleteRecord(ctx context.Context, p *params) (any, error) {
	id, err := p.requiredInt64("RecordId")
	if err != nil {
		return nil, err
	}
	return nil, s.Service.DeleteRecord(ctx, id)
}
