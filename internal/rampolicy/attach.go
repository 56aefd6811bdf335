package rampolicy

import (
	"context"
)

// Attach attaches the policy of that type and name to a principal (kind
// KindUser, KindGroup or KindRole): from then on the principal (and a
// group's members) has what its default version allows.
func (s *Service) Attach(ctx context.Context, policyType, policyName, kind, principal string) error {
	t, err := s.ref(policyType, policyName, kind, principal)
	if err != nil {
		return err
	}
	return s.AttachmentStore.Attach(ctx, t, policyName, kind, principal, MaxAttached, s.now())
}

// Detach detaches it.
func (s *Service) Detach(ctx context.Context, policyType, policyName, kind, principal string) error {
	t, err := s.ref(policyType, policyName, kind, principal)
	if err != nil {
		return err
	}
	return s.AttachmentStore.Detach(ctx, t, policyName, kind, principal)
}

// ref checks an attachment's policy and principal as a request names them;
// a system policy must exist (a custom one is checked by the store).
func (s *Service) ref(policyType, policyName, kind, principal string) (string, error) {
	t, err := checkRef(policyType, policyName)
	if err != nil {
		return "", err
	}
	if err := checkPrincipal(kind, principal); err != nil {
		return "", err
	}
	if _, ok := systemPolicies[policyName]; t == TypeSystem && !ok {
		return "", ErrPolicyNotFound
	}
	return t, nil
}

// PoliciesOf lists the policies attached to a principal, system ones
// first, each with its description and default version.
func (s *Service) PoliciesOf(ctx context.Context, kind, principal string) ([]Attached, error) {
	if err := checkPrincipal(kind, principal); err != nil {
		return nil, err
	}
	list, err := s.AttachmentStore.PoliciesOf(ctx, kind, principal)
	if err != nil {
		return nil, err
	}
	for i, a := range list {
		if p, _, ok := systemPolicyNamed(a.Name); ok && a.Type == TypeSystem {
			list[i].Description, list[i].DefaultVersion = p.Description, p.DefaultVersion
		}
	}
	return list, nil
}

// Entities lists the users, groups and roles the policy is attached to.
func (s *Service) Entities(ctx context.Context, policyType, policyName string) ([]Entity, error) {
	t, err := checkRef(policyType, policyName)
	if err != nil {
		return nil, err
	}
	if t == TypeCustom {
		if _, _, err := s.Store.Policy(ctx, policyName); err != nil {
			return nil, err
		}
	} else if _, ok := systemPolicies[policyName]; !ok {
		return nil, ErrPolicyNotFound
	}
	return s.AttachmentStore.Entities(ctx, t, policyName)
}
