//go:build !unix

package edge

// mapChunk takes the chunk from Go's heap where there is no mmap.
func mapChunk(n int) ([]byte, error) { return make([]byte, n), nil }

// unmapChunk leaves the chunk to the collector.
func unmapChunk([]byte) {}
