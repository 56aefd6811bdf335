//go:build unix

package edge

import "syscall"

// mapChunk maps n bytes of anonymous memory, outside Go's heap.
func mapChunk(n int) ([]byte, error) {
	return syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
}

// unmapChunk gives a chunk back to the system.
func unmapChunk(mem []byte) { syscall.Munmap(mem) }
