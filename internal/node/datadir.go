package node

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// LockFile is the name of the lock file in the data directory. A serving
// node holds a lock on it (flock) for as long as it runs, and writes its
// process id into it. The system drops the lock when the process ends,
// however it ends, so a file left behind by a dead process blocks nothing.
const LockFile = "lock"

// ErrDataDirInUse is what Start returns when another node holds the data
// directory.
var ErrDataDirInUse = errors.New("the data directory is in use by another esacert node")

// dataLock is a node's hold on its data directory. release is safe to call
// more than once; nil releases nothing.
type dataLock struct {
	f    *os.File
	once sync.Once
}

// lockDataDir takes dir (which exists) for this node. Another node of any
// process, this one included, that holds it makes lockDataDir fail at once
// with ErrDataDirInUse, naming that node's process id.
func lockDataDir(dir string) (*dataLock, error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock the data directory: %w", err)
	}
	held, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock the data directory: %s: %w", path, err)
	}
	if !held {
		f.Close()
		return nil, fmt.Errorf("%w: %s is held by process %s; stop that node first, or give this one its own --data",
			ErrDataDirInUse, path, holder(path))
	}
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock the data directory: write %s: %w", path, err)
	}
	return &dataLock{f: f}, nil
}

// holder reads the process id in the lock file at path. The holder writes
// it right after taking the lock, so an empty file is read again a few
// times before giving up.
func holder(path string) string {
	for range 20 {
		if b, err := os.ReadFile(path); err == nil {
			if pid := strings.TrimSpace(string(b)); pid != "" {
				return pid
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return "(unknown: it has not written its id)"
}

// release gives the data directory up. The file stays: removing it could
// let a third node lock a new file while a second still holds the old one.
func (l *dataLock) release() {
	if l == nil {
		return
	}
	l.once.Do(func() {
		l.f.Truncate(0)
		l.f.Close() // closing drops the lock
	})
}

// checkDataDir warns when the data directory, which an operator made
// beforehand, lets other users in: everything esacert writes there is
// owner-only, but the names of the files show.
func checkDataDir(dir string, log *slog.Logger) {
	if st, err := os.Stat(dir); err == nil && st.Mode().Perm()&0o077 != 0 {
		log.Warn("the data directory is open to other users; esacert keeps its own files there owner-only, but consider chmod 700",
			"dir", dir, "mode", fmt.Sprintf("%#o", st.Mode().Perm()))
	}
}
