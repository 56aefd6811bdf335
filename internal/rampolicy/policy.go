package rampolicy

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/policy"
)

// Policy types.
const (
	TypeSystem = "System"
	TypeCustom = "Custom"
)

// Kinds of principal a policy attaches to.
const (
	KindUser  = "user"
	KindGroup = "group"
	KindRole  = "role"
)

// Limits.
const (
	MaxNameLen        = 128
	MaxDescriptionLen = 1024
	MaxVersions       = 5
	MaxPolicies       = 1500
	// MaxAttached is how many policies of each type one user, group or role has.
	MaxAttached = 50
)

// Policy is a RAM policy. DefaultVersion names the version in force;
// AttachmentCount and Tags are filled where an answer shows them.
type Policy struct {
	Name            string
	Type            string
	Description     string
	DefaultVersion  string
	AttachmentCount int
	Created         time.Time
	Updated         time.Time
	Tags            []domain.Tag
}

// Version is a version of a policy's document. ID is v1, v2, …: a new
// version takes the next number, never one a deleted version had.
type Version struct {
	ID       string
	Default  bool
	Document string
	Created  time.Time
}

// Attached is a policy as a principal's list of policies shows it.
type Attached struct {
	Name           string
	Type           string
	Description    string
	DefaultVersion string
	Attached       time.Time
}

// Entity is a principal a policy is attached to, as ListEntitiesForPolicy
// shows it: Kind says which; DisplayName is a user's, Comments a group's,
// Description a role's.
type Entity struct {
	Kind        string
	ID          string
	Name        string
	DisplayName string
	Comments    string
	Description string
	Attached    time.Time
}

// CheckName checks a policy name sent in param: 1 to 128 letters, digits
// and hyphens.
func CheckName(param, name string) error {
	return domain.CheckName(param, name, MaxNameLen, func(r rune) bool {
		return r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_')
	}, "letters, digits, '-' and '_'")
}

// CheckType checks a PolicyType: System or Custom, in any case; it
// returns the canonical spelling.
func CheckType(t string) (string, error) {
	switch {
	case t == "":
		return "", domain.Missing("PolicyType")
	case strings.EqualFold(t, TypeSystem):
		return TypeSystem, nil
	case strings.EqualFold(t, TypeCustom):
		return TypeCustom, nil
	}
	return "", &domain.ParamError{Param: "PolicyType", Err: domain.ErrInvalid, Reason: "must be System or Custom"}
}

// CheckDocument checks a policy document sent in param and returns it
// compiled: a ParamError with ErrTooLong for a too large one, ErrMalformed
// with its reason otherwise.
func CheckDocument(param, doc string) (*policy.Policy, error) {
	if doc == "" {
		return nil, domain.Missing(param)
	}
	if len(doc) > policy.MaxDocumentSize {
		return nil, &domain.ParamError{Param: param, Err: domain.ErrTooLong,
			Reason: fmt.Sprintf("must be at most %d bytes", policy.MaxDocumentSize)}
	}
	return policy.Parse(doc)
}

var versionID = regexp.MustCompile(`^v[1-9][0-9]{0,8}$`)

// checkVersionID checks a VersionId: v and a number.
func checkVersionID(id string) error {
	if id == "" {
		return domain.Missing("VersionId")
	}
	if !versionID.MatchString(id) {
		return &domain.ParamError{Param: "VersionId", Err: domain.ErrBadFormat, Reason: "must be v and a number, such as v1"}
	}
	return nil
}

// checkKind checks a principal kind and its name as the request sends it.
func checkPrincipal(kind, name string) error {
	param := map[string]string{KindUser: "UserName", KindGroup: "GroupName", KindRole: "RoleName"}[kind]
	if param == "" {
		return fmt.Errorf("rampolicy: unknown principal kind %q", kind)
	}
	if name == "" {
		return domain.Missing(param)
	}
	if len(name) > 128 {
		return &domain.ParamError{Param: param, Err: domain.ErrTooLong, Reason: "is too long"}
	}
	return nil
}
