package procfs

import (
	"os"
	"runtime"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	// A command name with spaces and parentheses; utime 250, stime 50, cutime 1000,
	// cstime 30 ticks; ppid 77.
	text := "4242 (pingdeck (x) y) S 77 4242 4242 0 -1 4194560 100 0 0 0 250 50 1000 30 20 0 12 0 100 0 0\n"
	s, err := ParseStat(text)
	if err != nil {
		t.Fatal(err)
	}
	want := Stat{State: "S", PPID: 77, UTime: 2500 * time.Millisecond, STime: 500 * time.Millisecond, CUTime: 10 * time.Second, CSTime: 300 * time.Millisecond}
	if s != want {
		t.Errorf("got %+v, want %+v", s, want)
	}
	for _, bad := range []string{"", "1 (cmd) S 1 2 3", "1 (cmd) S x 1 1 0 -1 0 0 0 0 0 1 1 1 1 20 0"} {
		if _, err := ParseStat(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestParseStatus(t *testing.T) {
	text := "Name:\tpingdeck\nVmPeak:\t 900000 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t12\n"
	m, err := ParseStatus(text)
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS != 100<<20 || m.Peak != 200<<20 {
		t.Errorf("got rss %d peak %d, want 100 MiB and 200 MiB", m.RSS, m.Peak)
	}
	if _, err := ParseStatus("Name:\tzombie\n"); err == nil {
		t.Error("a status without VmRSS (a zombie's): no error")
	}
}

// TestOwnProcess reads this test process, which exists and uses some memory.
func TestOwnProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux's")
	}
	if _, err := CPU(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	m, err := ReadMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS <= 0 || m.Peak < m.RSS {
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
	pid, err := PostmasterPID("postgres://postgres@/bench_1?host=" + dir + "&port=5433&sslmode=disable")
	if err != nil || pid != 31337 {
		t.Errorf("got %d, %v; want 31337", pid, err)
	}
	if _, err := PostmasterPID("postgres://u@db.example:5432/x"); err == nil {
		t.Error("a TCP URL: no error")
	}
}
