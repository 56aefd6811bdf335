package rampolicy

import (
	"context"
	"strings"
	"time"

	"github.com/esacert/esacert/internal/domain"
)

// Service holds the use cases on RAM policies. Its fields are set once,
// before first use; after that a Service is safe for concurrent use.
type Service struct {
	// The stores of policies, versions, attachments and tags; all required.
	Store           Store
	VersionStore    VersionStore
	AttachmentStore AttachmentStore
	TagStore        TagStore
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

func (s *Service) now() time.Time { return domain.Now(s.Now).Truncate(time.Second) }

// CreatePolicy checks and creates a custom policy whose document is its
// version v1, with tags.
func (s *Service) CreatePolicy(ctx context.Context, name, document, description string, tags []domain.Tag) (Policy, error) {
	if name == "" {
		return Policy{}, domain.Missing("PolicyName")
	}
	if err := CheckName("PolicyName", name); err != nil {
		return Policy{}, err
	}
	if _, ok := systemPolicies[name]; ok {
		return Policy{}, ErrPolicyExists
	}
	if _, err := CheckDocument("PolicyDocument", document); err != nil {
		return Policy{}, err
	}
	if err := domain.CheckLength("Description", description, MaxDescriptionLen); err != nil {
		return Policy{}, err
	}
	if err := domain.CheckTags("Tag", tags); err != nil {
		return Policy{}, err
	}
	now := s.now()
	p := Policy{Name: name, Type: TypeCustom, Description: description, DefaultVersion: "v1", Created: now, Updated: now, Tags: tags}
	v := Version{ID: "v1", Default: true, Document: document, Created: now}
	if err := s.Store.CreatePolicy(ctx, p, v, MaxPolicies); err != nil {
		return Policy{}, err
	}
	return p, nil
}

// checkRef checks a policy's type and name as a request names them.
func checkRef(policyType, name string) (string, error) {
	if name == "" {
		return "", domain.Missing("PolicyName")
	}
	t, err := CheckType(policyType)
	if err != nil {
		return "", err
	}
	if err := CheckName("PolicyName", name); err != nil {
		return "", err
	}
	return t, nil
}

// Policy returns the policy of that type and name (AttachmentCount and
// tags filled) and its default version, or ErrPolicyNotFound.
func (s *Service) Policy(ctx context.Context, policyType, name string) (Policy, Version, error) {
	t, err := checkRef(policyType, name)
	if err != nil {
		return Policy{}, Version{}, err
	}
	if t == TypeCustom {
		return s.Store.Policy(ctx, name)
	}
	p, v, ok := systemPolicyNamed(name)
	if !ok {
		return Policy{}, Version{}, ErrPolicyNotFound
	}
	if p.AttachmentCount, err = s.Store.AttachmentCount(ctx, TypeSystem, name); err != nil {
		return Policy{}, Version{}, err
	}
	return p, v, nil
}

// ListPolicies returns a page of the policies of policyType ("" for both:
// system policies first, then custom ones, each in name order) and the
// marker of the next page.
func (s *Service) ListPolicies(ctx context.Context, policyType string, m domain.Marker) ([]Policy, string, error) {
	t := ""
	if policyType != "" {
		var err error
		if t, err = CheckType(policyType); err != nil {
			return nil, "", err
		}
	}
	// A marker is the type's first letter, a slash and the last name.
	afterType, afterName, _ := strings.Cut(m.After, "/")
	var out []Policy
	if (t == "" || t == TypeSystem) && afterType != "C" {
		for _, name := range systemNames {
			if afterType == "S" && name <= afterName {
				continue
			}
			p, _, err := s.Policy(ctx, TypeSystem, name)
			if err != nil {
				return nil, "", err
			}
			out = append(out, p)
			if len(out) > m.Limit {
				break
			}
		}
	}
	if (t == "" || t == TypeCustom) && len(out) <= m.Limit {
		cm := domain.Marker{Limit: m.Limit - len(out)}
		if afterType == "C" {
			cm.After = afterName
		}
		list, err := s.Store.ListPolicies(ctx, cm)
		if err != nil {
			return nil, "", err
		}
		out = append(out, list...)
	}
	if len(out) > m.Limit {
		out = out[:m.Limit]
		last := out[len(out)-1]
		return out, domain.NextMarker(last.Type[:1] + "/" + last.Name), nil
	}
	return out, "", nil
}

// custom checks that name is a custom policy's name as a request sends
// it: a system policy's name is ErrSystemPolicy.
func custom(name string) error {
	if name == "" {
		return domain.Missing("PolicyName")
	}
	if err := CheckName("PolicyName", name); err != nil {
		return err
	}
	if _, ok := systemPolicies[name]; ok {
		return ErrSystemPolicy
	}
	return nil
}

// UpdateDescription changes a custom policy's description.
func (s *Service) UpdateDescription(ctx context.Context, name, description string) (Policy, error) {
	if err := custom(name); err != nil {
		return Policy{}, err
	}
	if err := domain.CheckLength("NewDescription", description, MaxDescriptionLen); err != nil {
		return Policy{}, err
	}
	if err := s.Store.SetDescription(ctx, name, description, s.now()); err != nil {
		return Policy{}, err
	}
	p, _, err := s.Store.Policy(ctx, name)
	return p, err
}

// DeletePolicy deletes a custom policy (with its other versions when cascade).
func (s *Service) DeletePolicy(ctx context.Context, name string, cascade bool) error {
	if err := custom(name); err != nil {
		return err
	}
	return s.Store.DeletePolicy(ctx, name, cascade)
}

// Rotation strategies of CreateVersion.
const (
	RotateNone   = "None"
	RotateOldest = "DeleteOldestNonDefaultVersionWhenLimitExceeded"
)

// CreateVersion checks the document and adds it as the policy's next
// version (the default when setDefault). With rotate RotateOldest a policy
// at MaxVersions loses its oldest version that is not the default first.
func (s *Service) CreateVersion(ctx context.Context, name, document string, setDefault bool, rotate string) (Version, error) {
	if err := custom(name); err != nil {
		return Version{}, err
	}
	if _, err := CheckDocument("PolicyDocument", document); err != nil {
		return Version{}, err
	}
	if rotate != "" && rotate != RotateNone && rotate != RotateOldest {
		return Version{}, domain.Invalid("RotateStrategy", "must be None or DeleteOldestNonDefaultVersionWhenLimitExceeded")
	}
	return s.VersionStore.CreateVersion(ctx, name, Version{Document: document, Created: s.now()}, setDefault,
		rotate == RotateOldest, MaxVersions)
}

// Version returns one version of the policy of that type.
func (s *Service) Version(ctx context.Context, policyType, name, id string) (Version, error) {
	t, err := checkRef(policyType, name)
	if err != nil {
		return Version{}, err
	}
	if err := checkVersionID(id); err != nil {
		return Version{}, err
	}
	if t == TypeCustom {
		return s.VersionStore.Version(ctx, name, id)
	}
	_, v, ok := systemPolicyNamed(name)
	if !ok {
		return Version{}, ErrPolicyNotFound
	}
	if id != v.ID {
		return Version{}, ErrVersionNotFound
	}
	return v, nil
}

// Versions lists the versions of the policy of that type, newest first.
func (s *Service) Versions(ctx context.Context, policyType, name string) ([]Version, error) {
	t, err := checkRef(policyType, name)
	if err != nil {
		return nil, err
	}
	if t == TypeCustom {
		return s.VersionStore.Versions(ctx, name)
	}
	_, v, ok := systemPolicyNamed(name)
	if !ok {
		return nil, ErrPolicyNotFound
	}
	return []Version{v}, nil
}

// DeleteVersion deletes a version of a custom policy that is not its default.
func (s *Service) DeleteVersion(ctx context.Context, name, id string) error {
	if err := custom(name); err != nil {
		return err
	}
	if err := checkVersionID(id); err != nil {
		return err
	}
	return s.VersionStore.DeleteVersion(ctx, name, id)
}

// SetDefaultVersion makes a version of a custom policy its default: the
// document in force from then on.
func (s *Service) SetDefaultVersion(ctx context.Context, name, id string) error {
	if err := custom(name); err != nil {
		return err
	}
	if err := checkVersionID(id); err != nil {
		return err
	}
	return s.VersionStore.SetDefaultVersion(ctx, name, id, s.now())
}
