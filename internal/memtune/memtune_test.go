package memtune

import "testing"

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
		{64 << 20, 50},
		{128 << 20, 25},
		{256 << 20, 25},
		{1 << 30, 25},
		{8 << 30, 25},
	} {
		if got := Percent(c.live); got != c.want {
			t.Errorf("Percent(%d MB) = %d, want %d", c.live>>20, got, c.want)
		}
	}
}
