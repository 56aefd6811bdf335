package domain

// Sealer seals private keys and other secrets at rest. aad binds a sealed
// value to its row: a value opens only with the aad it was sealed with.
// Implementations (keyseal) are safe for concurrent use.
type Sealer interface {
	Seal(plain, aad []byte) ([]byte, error)
	Open(sealed, aad []byte) ([]byte, error)
	// KeyID is a public id of the master key.
	KeyID() string
}
