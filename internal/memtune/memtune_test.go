package memtune

import (
	"math"
	"runtime/debug"
	"testing"
)

// TestPercent: Go's default for a small heap, a quarter of the live heap
// for a large one.
func TestPercent(t *testing.T) {
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, 100},
		{10 << 20, 100},
		{32 << 20, 100},
		{256 << 20, 100},
		{512 << 20, 50},
		{1 << 30, 25},
		{8 << 30, 25},
	} {
		if got := Percent(c.live); got != c.want {
			t.Errorf("Percent(%d MB) = %d, want %d", c.live>>20, got, c.want)
		}
	}
}

// TestLoad: a load holds the collector off and bounds the memory, and its
// restore puts the pace back as it was.
func TestLoad(t *testing.T) {
	if Chosen() {
		t.Skip("GOGC or GOMEMLIMIT is set: Load changes nothing")
	}
	prevPercent := debug.SetGCPercent(77)
	defer debug.SetGCPercent(prevPercent)
	prevLimit := debug.SetMemoryLimit(math.MaxInt64)
	defer debug.SetMemoryLimit(prevLimit)
	restore := Load(100 << 20)
	if p := debug.SetGCPercent(-1); p != -1 {
		t.Errorf("during a load the collector's percentage is %d, want -1 (off)", p)
	}
	if l := debug.SetMemoryLimit(-1); l >= math.MaxInt64 || l < 150<<20 {
		t.Errorf("during a load the memory limit is %d, want at least 150 MB above what is in use and bounded", l)
	}
	restore()
	restore() // a second call does nothing
	if p := debug.SetGCPercent(77); p != 77 {
		t.Errorf("after a load the collector's percentage is %d, want 77", p)
	}
	if l := debug.SetMemoryLimit(-1); l != math.MaxInt64 {
		t.Errorf("after a load the memory limit is %d, want none", l)
	}
}

func TestLoadHeadroom(t *testing.T) {
	if got := LoadHeadroom(10<<20, 800<<20); got != 10<<20+1200<<20 {
		t.Errorf("LoadHeadroom(10 MB, 800 MB) = %d MB, want 1210 MB", got>>20)
	}
	if got := LoadHeadroom(10<<20, 1<<20); got != 10<<20+64<<20 {
		t.Errorf("LoadHeadroom(10 MB, 1 MB) = %d MB, want 74 MB", got>>20)
	}
}
