//go:build linux

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"pingdeck/bench/internal/procfs"
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
	st, err := procfs.ReadStat(pid)
	if err != nil {
		return s, fmt.Errorf("procstat: %w", err)
	}
	if st.State == "Z" || st.State == "X" {
		return s, fmt.Errorf("procstat: process %d has exited", pid)
	}
	mem, err := procfs.ReadMemory(pid)
	if err != nil {
		return s, fmt.Errorf("procstat: /proc/%d/status: %w", pid, err)
	}
	s.user, s.sys, s.rss, s.hwm = st.UTime, st.STime, mem.RSS, mem.Peak
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
