//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of the CPU times in /proc/<pid>/stat and /proc/stat: fixed at
// 100 per second by the Linux ABI whatever the kernel's internal HZ.
const userHZ = 100

// procSample is one reading of a process's CPU time and memory.
type procSample struct {
	at   time.Time
	user time.Duration // utime, all threads
	sys  time.Duration // stime, all threads
	rss  int64         // VmRSS, bytes
	hwm  int64         // VmHWM (peak RSS since exec), bytes
}

// sampleProc reads /proc/<pid>/stat and /proc/<pid>/status.
func sampleProc(pid int) (procSample, error) {
	s := procSample{at: time.Now()}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, fmt.Errorf("procstat: %w", err)
	}
	// Fields after the command name, which is in parentheses and may hold spaces:
	// state(3) … utime(14) stime(15).
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return s, fmt.Errorf("procstat: /proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(stat[end+1:]))
	if len(f) < 13 {
		return s, fmt.Errorf("procstat: /proc/%d/stat: %d fields", pid, len(f))
	}
	if f[0] == "Z" || f[0] == "X" {
		return s, fmt.Errorf("procstat: process %d has exited", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return s, fmt.Errorf("procstat: /proc/%d/stat: %w", pid, err)
	}
	s.user = time.Duration(utime) * time.Second / userHZ
	s.sys = time.Duration(stime) * time.Second / userHZ

	status, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("procstat: %w", err)
	}
	defer status.Close()
	sc := bufio.NewScanner(status)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return s, fmt.Errorf("procstat: /proc/%d/status %s: %w", pid, key, err)
		}
		if key == "VmRSS" {
			s.rss = kb << 10
		} else {
			s.hwm = kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		return s, fmt.Errorf("procstat: /proc/%d/status: %w", pid, err)
	}
	return s, nil
}

// hostBusy is the CPU time all cores of the machine spent not idle (user, nice,
// system, irq, softirq, steal) since boot, from /proc/stat.
func hostBusy() (time.Duration, error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, fmt.Errorf("procstat: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0, fmt.Errorf("procstat: /proc/stat is empty: %w", sc.Err())
	}
	fields := strings.Fields(sc.Text())
	if len(fields) < 9 || fields[0] != "cpu" {
		return 0, fmt.Errorf("procstat: /proc/stat: unexpected first line %q", sc.Text())
	}
	var busy int64
	for i, v := range fields[1:9] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("procstat: /proc/stat: %w", err)
		}
		busy += n
	}
	return time.Duration(busy) * time.Second / userHZ, nil
}

// usage is what a process consumed over the measured window.
type usage struct {
	CPU     float64 // utime+stime over wall time: 1.0 is one core
	SysCPU  float64 // the stime part of CPU
	HostCPU float64 // whole machine busy time over wall time, in cores
	RSS     int64   // VmRSS at the end of the window, bytes
	PeakRSS int64   // VmHWM at the end of the window, bytes
}

// errExitedEarly says the measured process ended before its window did.
var errExitedEarly = errors.New("process exited before the end of its window")

// measureWindow samples process pid at the start and the end of win. exited is
// closed when the process ends; that ends the measurement with errExitedEarly.
func measureWindow(ctx context.Context, pid int, win window, exited <-chan struct{}) (usage, error) {
	wait := func(t time.Time) error {
		timer := time.NewTimer(time.Until(t))
		defer timer.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
			return errExitedEarly
		case <-timer.C:
			return nil
		}
	}
	if err := wait(win.Start); err != nil {
		return usage{}, err
	}
	hostA, errA := hostBusy()
	a, err := sampleProc(pid)
	if err := errors.Join(err, errA); err != nil {
		return usage{}, err
	}
	if err := wait(win.End); err != nil {
		return usage{}, err
	}
	b, err := sampleProc(pid)
	hostB, errB := hostBusy()
	if err := errors.Join(err, errB); err != nil {
		return usage{}, err
	}
	wall := b.at.Sub(a.at).Seconds()
	return usage{
		CPU:     (b.user + b.sys - a.user - a.sys).Seconds() / wall,
		SysCPU:  (b.sys - a.sys).Seconds() / wall,
		HostCPU: (hostB - hostA).Seconds() / wall,
		RSS:     b.rss,
		PeakRSS: b.hwm,
	}, nil
}
