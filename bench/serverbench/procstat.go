//go:build linux

package main

import (
	"bufio"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of the CPU times in /proc/<pid>/stat: 100 per second by the Linux
// ABI, whatever the kernel's internal HZ.
const userHZ = 100

// procStat is what the benchmark reads from /proc/<pid>/stat.
type procStat struct {
	ppid           int
	utime, stime   time.Duration // the process's own, all threads
	cutime, cstime time.Duration // its children's that it has waited for
}

// parseProcStat reads /proc/<pid>/stat's text. The command name, in parentheses, may
// hold spaces and parentheses, so fields are counted from the last ')'.
func parseProcStat(text string) (procStat, error) {
	var s procStat
	i := strings.LastIndexByte(text, ')')
	if i < 0 {
		return s, errors.New("procstat: no command name")
	}
	f := strings.Fields(text[i+1:]) // f[0] is field 3, state
	if len(f) < 15 {
		return s, fmt.Errorf("procstat: %d fields after the command name", len(f))
	}
	var n [5]int64
	for j, field := range []int{4, 14, 15, 16, 17} {
		v, err := strconv.ParseInt(f[field-3], 10, 64)
		if err != nil {
			return s, fmt.Errorf("procstat: field %d: %w", field, err)
		}
		n[j] = v
	}
	tick := func(v int64) time.Duration { return time.Duration(v) * time.Second / userHZ }
	return procStat{ppid: int(n[0]), utime: tick(n[1]), stime: tick(n[2]), cutime: tick(n[3]), cstime: tick(n[4])}, nil
}

func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(string(b))
}

// memory is a process's resident set now and at its peak, in bytes.
type memory struct{ rss, peak int64 }

// parseStatus reads VmRSS and VmHWM from /proc/<pid>/status's text.
func parseStatus(text string) (memory, error) {
	var m memory
	found := 0
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return m, fmt.Errorf("procstat: %s: %w", key, err)
		}
		if key == "VmRSS" {
			m.rss = kb << 10
		} else {
			m.peak = kb << 10
		}
		found++
	}
	if found < 2 {
		return m, errors.New("procstat: no VmRSS and VmHWM")
	}
	return m, nil
}

func readMemory(pid int) (memory, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return memory{}, err
	}
	return parseStatus(string(b))
}

// processCPU is a process's user + system CPU time so far.
func processCPU(pid int) (time.Duration, error) {
	s, err := readProcStat(pid)
	return s.utime + s.stime, err
}

// postmasterPID finds the cluster behind a storetest throwaway URL: its socket
// directory (the host parameter) holds data/postmaster.pid, whose first line is the
// postmaster's pid.
func postmasterPID(dbURL string) (int, error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return 0, err
	}
	host := u.Query().Get("host")
	if !strings.HasPrefix(host, "/") {
		return 0, fmt.Errorf("postgres: %q is not a socket directory", host)
	}
	b, err := os.ReadFile(filepath.Join(host, "data", "postmaster.pid"))
	if err != nil {
		return 0, err
	}
	first, _, _ := strings.Cut(string(b), "\n")
	return strconv.Atoi(strings.TrimSpace(first))
}

// clusterCPU is the CPU time a Postgres cluster has used so far: the postmaster's own
// and that of the children it has reaped, plus its living children's (backends,
// checkpointer, WAL writer …).
func clusterCPU(postmaster int) (time.Duration, error) {
	pm, err := readProcStat(postmaster)
	if err != nil {
		return 0, err
	}
	total := pm.utime + pm.stime + pm.cutime + pm.cstime
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == postmaster {
			continue
		}
		s, err := readProcStat(pid)
		if err != nil || s.ppid != postmaster { // gone meanwhile, or not the cluster's
			continue
		}
		total += s.utime + s.stime
	}
	return total, nil
}
