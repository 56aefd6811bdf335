package record

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/esacert/esacert/internal/domain"
)

// MaskSecret masks a secret for display: its first 4 characters, "****"
// and its last 4; a secret shorter than 16 characters shows none of them,
// so that a mask never gives away more than half of a secret.
func MaskSecret(s string) string {
	if s == "" {
		return ""
	}
	r := []rune(s)
	if len(r) < 16 {
		return "****"
	}
	return string(r[:4]) + "****" + string(r[len(r)-4:])
}

// SecretsAAD binds a record's sealed secrets to its row (for a master key
// rotation, which reseals them: cert.Reseal).
func SecretsAAD(id int64) []byte { return []byte(fmt.Sprintf("record:%d", id)) }

// RecordAuth returns r's AuthConf with the clear AccessKey and SecretKey,
// unsealed with the Service's Sealer; for the edge, never for an answer.
func (s *Service) RecordAuth(r Record) (AuthConf, error) {
	a := r.AuthConf
	a.AccessKey, a.SecretKey = "", ""
	if len(r.SealedSecrets) == 0 {
		return a, nil
	}
	var err error
	if a.AccessKey, a.SecretKey, err = OpenSecrets(s.Sealer, r.ID, r.SealedSecrets); err != nil {
		return AuthConf{}, err
	}
	return a, nil
}

// OpenSecrets unseals the AccessKey and SecretKey of record id (its
// SealedSecrets) with sealer; for the edge, which signs the requests to
// the record's origin with them (internal/originauth).
func OpenSecrets(sealer domain.Sealer, id int64, sealed []byte) (accessKey, secretKey string, err error) {
	if sealer == nil {
		return "", "", fmt.Errorf("record %d: %w: no master key", id, domain.ErrKeyUnavailable)
	}
	plain, err := sealer.Open(sealed, SecretsAAD(id))
	if err != nil {
		return "", "", fmt.Errorf("unseal record %d: %w: %v", id, domain.ErrKeyUnavailable, err)
	}
	var sec recordSecrets
	if err := json.Unmarshal(plain, &sec); err != nil {
		return "", "", fmt.Errorf("unseal record %d: %w: %v", id, domain.ErrKeyUnavailable, err)
	}
	return sec.AccessKey, sec.SecretKey, nil
}

// recordSecrets is what a record's SealedSecrets hold.
type recordSecrets struct {
	AccessKey string `json:"a,omitempty"`
	SecretKey string `json:"s,omitempty"`
}

// sealSecrets seals the keys of in for record id; a key equal to old's mask
// stands for old's key. It returns nil when no key is set.
func (s *Service) sealSecrets(id int64, in *AuthConf, old *Record) ([]byte, error) {
	if in == nil || in.AccessKey == "" && in.SecretKey == "" {
		return nil, nil
	}
	sec := recordSecrets{AccessKey: in.AccessKey, SecretKey: in.SecretKey}
	if old != nil && (isMask(sec.AccessKey, old.AuthConf.AccessKey) || isMask(sec.SecretKey, old.AuthConf.SecretKey)) {
		clear, err := s.RecordAuth(*old)
		if err != nil {
			return nil, err
		}
		if isMask(sec.AccessKey, old.AuthConf.AccessKey) {
			sec.AccessKey = clear.AccessKey
		}
		if isMask(sec.SecretKey, old.AuthConf.SecretKey) {
			sec.SecretKey = clear.SecretKey
		}
	}
	return SealSecrets(s.Sealer, id, sec.AccessKey, sec.SecretKey)
}

// SealSecrets seals an AccessKey and SecretKey for record id with sealer,
// as the record's SealedSecrets (OpenSecrets opens them).
func SealSecrets(sealer domain.Sealer, id int64, accessKey, secretKey string) ([]byte, error) {
	if sealer == nil {
		return nil, fmt.Errorf("seal record %d: %w: no master key", id, domain.ErrKeyUnavailable)
	}
	plain, err := json.Marshal(recordSecrets{AccessKey: accessKey, SecretKey: secretKey})
	if err != nil {
		return nil, err
	}
	return sealer.Seal(plain, SecretsAAD(id))
}

func isMask(v, mask string) bool { return v != "" && v == mask && strings.Contains(mask, "****") }
