//go:build !linux

// Command edgebench compares esacert's edge with nginx and HAProxy; it
// starts them as process groups and reads their CPU time and memory from
// /proc, so it runs on Linux only.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "edgebench: runs on Linux only (it reads the servers' CPU time and memory from /proc)")
	os.Exit(2)
}
