package accesskey

import "time"

// Statuses of a user's access key: only an Active key signs requests.
const (
	StatusActive   = "Active"
	StatusInactive = "Inactive"
)

// MaxPerUser is how many access keys a RAM user has at most.
const MaxPerUser = 2

// AccessKey is a RAM user's access key as stored: its secret only sealed.
type AccessKey struct {
	ID           string
	UserID       string
	UserName     string
	Status       string
	Created      time.Time
	SealedSecret []byte // the secret sealed under the master key with SecretAAD(ID)
}

// SecretAAD binds a key's sealed secret to its row (for a master key
// rotation, which reseals it: cert.Reseal).
func SecretAAD(id string) []byte { return []byte("access-key:" + id) }
