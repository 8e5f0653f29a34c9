// Package procfs reads what the benchmarks measure of a process from Linux's /proc:
// its CPU time and memory, a PostgreSQL cluster's CPU, and the load average. The
// parsers are portable; the readings need Linux.
package procfs

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

// Stat is what the benchmarks read from /proc/<pid>/stat.
type Stat struct {
	State          string // R, S, D, Z (a zombie: exited, not yet reaped) …
	PPID           int
	UTime, STime   time.Duration // the process's own, all threads
	CUTime, CSTime time.Duration // its children's that it has waited for
}

// ParseStat reads /proc/<pid>/stat's text. The command name, in parentheses, may hold
// spaces and parentheses, so fields are counted from the last ')'.
func ParseStat(text string) (Stat, error) {
	var s Stat
	i := strings.LastIndexByte(text, ')')
	if i < 0 {
		return s, errors.New("procfs: no command name")
	}
	f := strings.Fields(text[i+1:]) // f[0] is field 3, state
	if len(f) < 15 {
		return s, fmt.Errorf("procfs: %d fields after the command name", len(f))
	}
	var n [5]int64
	for j, field := range []int{4, 14, 15, 16, 17} {
		v, err := strconv.ParseInt(f[field-3], 10, 64)
		if err != nil {
			return s, fmt.Errorf("procfs: field %d: %w", field, err)
		}
		n[j] = v
	}
	tick := func(v int64) time.Duration { return time.Duration(v) * time.Second / userHZ }
	return Stat{State: f[0], PPID: int(n[0]), UTime: tick(n[1]), STime: tick(n[2]), CUTime: tick(n[3]), CSTime: tick(n[4])}, nil
}

// ReadStat reads /proc/<pid>/stat.
func ReadStat(pid int) (Stat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Stat{}, err
	}
	return ParseStat(string(b))
}

// Memory is a process's resident set now and at its peak, in bytes.
type Memory struct{ RSS, Peak int64 }

// ParseStatus reads VmRSS and VmHWM from /proc/<pid>/status's text.
func ParseStatus(text string) (Memory, error) {
	var m Memory
	found := 0
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return m, fmt.Errorf("procfs: %s: %w", key, err)
		}
		if key == "VmRSS" {
			m.RSS = kb << 10
		} else {
			m.Peak = kb << 10
		}
		found++
	}
	if found < 2 {
		return m, errors.New("procfs: no VmRSS and VmHWM")
	}
	return m, nil
}

// ReadMemory reads /proc/<pid>/status.
func ReadMemory(pid int) (Memory, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return Memory{}, err
	}
	return ParseStatus(string(b))
}

// CPU is a process's user + system CPU time so far.
func CPU(pid int) (time.Duration, error) {
	s, err := ReadStat(pid)
	return s.UTime + s.STime, err
}

// PostmasterPID finds the cluster behind a storetest throwaway URL: its socket
// directory (the host parameter) holds data/postmaster.pid, whose first line is the
// postmaster's pid.
func PostmasterPID(dbURL string) (int, error) {
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

// ClusterCPU is the CPU time a Postgres cluster has used so far: the postmaster's own
// and that of the children it has reaped, plus its living children's (backends,
// checkpointer, WAL writer …).
func ClusterCPU(postmaster int) (time.Duration, error) {
	pm, err := ReadStat(postmaster)
	if err != nil {
		return 0, err
	}
	total := pm.UTime + pm.STime + pm.CUTime + pm.CSTime
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == postmaster {
			continue
		}
		s, err := ReadStat(pid)
		if err != nil || s.PPID != postmaster { // gone meanwhile, or not the cluster's
			continue
		}
		total += s.UTime + s.STime
	}
	return total, nil
}

// LoadAverage is the 1-minute load average, which says how much the machine was
// shared; "?" when it cannot be read.
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}
