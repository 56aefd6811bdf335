package masterkey

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/esacert/esacert/internal/keyseal"
)

// Source says where a node's master keys come from. The zero value has none.
type Source struct {
	// Env is the key ring given in the environment (ESACERT_MASTER_KEY):
	// keys separated by commas or newlines, newest first. It wins over File
	// and cannot be rewritten or read again while a node runs.
	Env string
	// File is the key ring file: --master-key-file, or master.key in the
	// data directory.
	File string
	// Default reports that File is the data directory's master.key, which a
	// node may generate on a database that holds no sealed key yet.
	Default bool
}

// Describe names the source for messages.
func (s Source) Describe() string {
	if s.Env != "" {
		return "ESACERT_MASTER_KEY"
	}
	return s.File
}

// Writable reports whether Rotate may add a key to the source (a file).
func (s Source) Writable() bool { return s.Env == "" && s.File != "" }

// Load reads the keys, newest first. With create, a missing default file
// is generated (mode 0600) and created reports so.
func (s Source) Load(create bool) (keys [][]byte, created bool, err error) {
	if s.Env != "" {
		keys, err = keyseal.ParseRing(s.Env)
		if err != nil {
			return nil, false, fmt.Errorf("ESACERT_MASTER_KEY: %w", err)
		}
		return keys, false, nil
	}
	if s.File == "" {
		return nil, false, errors.New("no master key is configured")
	}
	if create && s.Default {
		if _, err := os.Stat(s.File); errors.Is(err, fs.ErrNotExist) {
			key, created, err := keyseal.LoadOrCreate(s.File)
			if err != nil {
				return nil, false, err
			}
			if created {
				return [][]byte{key}, true, nil
			}
		}
	}
	keys, err = keyseal.LoadRing(s.File)
	return keys, false, err
}

// stamp identifies a version of the key file cheaply: another file (a
// rename over it), another size or modification time means it is read again.
type stamp struct{ fi os.FileInfo }

func (s Source) stamp() stamp {
	if s.Env != "" || s.File == "" {
		return stamp{}
	}
	fi, err := os.Stat(s.File)
	if err != nil {
		return stamp{}
	}
	return stamp{fi}
}

func (a stamp) same(b stamp) bool {
	if a.fi == nil || b.fi == nil {
		return a.fi == b.fi
	}
	return os.SameFile(a.fi, b.fi) && a.fi.Size() == b.fi.Size() && a.fi.ModTime().Equal(b.fi.ModTime())
}
