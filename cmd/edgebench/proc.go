//go:build linux

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/esacert/esacert/internal/freeport"
)

// proc is a server the harness started: a process group (the server and its
// workers), its output in a log file.
type proc struct {
	name   string
	pgid   int
	log    string
	exited chan struct{}
	err    error // why it exited, once exited is closed
}

// startProc starts bin with args in a process group of its own, in
// environment env (nil: the harness's), its output appended to logFile.
func startProc(name, bin string, args, env []string, logFile string) (*proc, error) {
	out, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, pgid: cmd.Process.Pid, log: logFile, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		out.Close()
		close(p.exited)
	}()
	return p, nil
}

// running is nil while p runs, else why it stopped, with the end of its log.
func (p *proc) running() error {
	select {
	case <-p.exited:
		return fmt.Errorf("%s exited (%v); the end of its log (%s):\n%s", p.name, p.err, p.log, tail(p.log, 2000))
	default:
		return nil
	}
}

// stop asks p's group to stop (SIGTERM), waits up to 10 s, then kills what
// is left of the group.
func (p *proc) stop() {
	syscall.Kill(-p.pgid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
	}
	syscall.Kill(-p.pgid, syscall.SIGKILL)
	<-p.exited
}

// tail is the last n bytes of the file at path.
func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// groupPIDs are the live processes of process group pgid.
func groupPIDs(pgid int) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f := statFields(pid); len(f) > 2 && f[2] == strconv.Itoa(pgid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// statFields are the fields of /proc/PID/stat after the command name: state
// ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
// stime …; nil when the process is gone.
func statFields(pid int) []string {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(stat[i+1:]))
}

// groupCPU is the CPU time (user and system) the live processes of group
// pgid have used so far (clock ticks of 10 ms).
func groupCPU(pgid int) time.Duration {
	var ticks int64
	for _, pid := range groupPIDs(pgid) {
		f := statFields(pid)
		if len(f) < 13 {
			continue
		}
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += utime + stime
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// groupMemory is the memory process group pgid holds now.
func groupMemory(pgid int) memory {
	var m memory
	for _, pid := range groupPIDs(pgid) {
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "smaps_rollup"))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			switch f[0] {
			case "Rss:":
				m.RSS += kb << 10
			case "Pss:":
				m.PSS += kb << 10
			}
		}
	}
	return m
}

// freeAddr is a loopback address whose port is free now, for a server
// started next to listen on (freeport: no connection takes it meanwhile).
func freeAddr() (string, error) { return freeport.Addr() }
