//go:build linux

package main

import (
	"os"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	// A command name with spaces and parentheses; utime 250, stime 50, cutime 1000,
	// cstime 30 ticks; ppid 77.
	text := "4242 (pingdeck (x) y) S 77 4242 4242 0 -1 4194560 100 0 0 0 250 50 1000 30 20 0 12 0 100 0 0\n"
	s, err := parseProcStat(text)
	if err != nil {
		t.Fatal(err)
	}
	want := procStat{ppid: 77, utime: 2500 * time.Millisecond, stime: 500 * time.Millisecond, cutime: 10 * time.Second, cstime: 300 * time.Millisecond}
	if s != want {
		t.Errorf("got %+v, want %+v", s, want)
	}
	for _, bad := range []string{"", "1 (cmd) S 1 2 3", "1 (cmd) S x 1 1 0 -1 0 0 0 0 0 1 1 1 1 20 0"} {
		if _, err := parseProcStat(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestParseStatus(t *testing.T) {
	text := "Name:\tpingdeck\nVmPeak:\t 900000 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t12\n"
	m, err := parseStatus(text)
	if err != nil {
		t.Fatal(err)
	}
	if m.rss != 100<<20 || m.peak != 200<<20 {
		t.Errorf("got rss %d peak %d, want 100 MiB and 200 MiB", m.rss, m.peak)
	}
	if _, err := parseStatus("Name:\tzombie\n"); err == nil {
		t.Error("a status without VmRSS (a zombie's): no error")
	}
}

// TestOwnProcess reads this test process, which exists and uses some memory.
func TestOwnProcess(t *testing.T) {
	if _, err := processCPU(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	m, err := readMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.rss <= 0 || m.peak < m.rss {
		t.Errorf("own memory %+v", m)
	}
}

func TestPostmasterPID(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(dir+"/data", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/data/postmaster.pid", []byte("31337\n/tmp/x/data\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pid, err := postmasterPID("postgres://postgres@/bench_1?host=" + dir + "&port=5433&sslmode=disable")
	if err != nil || pid != 31337 {
		t.Errorf("got %d, %v; want 31337", pid, err)
	}
	if _, err := postmasterPID("postgres://u@db.example:5432/x"); err == nil {
		t.Error("a TCP URL: no error")
	}
}
