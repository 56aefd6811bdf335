package proctest

import (
	"os"
	"runtime"
	"testing"
)

// TestStatusMBOfThisProcess: the test process's resident set is a few MB
// at least, and its peak is no smaller.
func TestStatusMBOfThisProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	rss := StatusMB(t, os.Getpid(), "VmRSS")
	hwm := StatusMB(t, os.Getpid(), "VmHWM")
	if rss < 1 || hwm < rss {
		t.Fatalf("VmRSS %.1f MB, VmHWM %.1f MB", rss, hwm)
	}
}
