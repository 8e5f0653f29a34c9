//go:build linux

package shared

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// requireRoot skips tests that need raw sockets or network namespaces.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: raw ICMP sockets and network namespaces (run the tests as root, as CI does)")
	}
}

// testNetns is a network namespace made for one test: its own loopback, routes and
// net.ipv4 sysctls, so the test can change them without touching the host.
type testNetns struct {
	name string
	fd   int
}

var testNetnsSeq atomic.Int64

// newTestNetns creates pdt-shared-<pid>-<n> with lo up, deleted when the test ends.
func newTestNetns(t testing.TB) *testNetns {
	t.Helper()
	requireRoot(t)
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs the ip command (iproute2) to make a network namespace")
	}
	ns := &testNetns{name: fmt.Sprintf("pdt-shared-%d-%d", os.Getpid(), testNetnsSeq.Add(1))}
	if out, err := exec.Command("ip", "netns", "add", ns.name).CombinedOutput(); err != nil {
		t.Skipf("cannot create a network namespace here (ip netns add: %v: %s)", err, out)
	}
	fd, err := unix.Open(filepath.Join("/run/netns", ns.name), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		exec.Command("ip", "netns", "del", ns.name).Run()
		t.Fatalf("open namespace %s: %v", ns.name, err)
	}
	ns.fd = fd
	t.Cleanup(func() {
		unix.Close(ns.fd)
		if out, err := exec.Command("ip", "netns", "del", ns.name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", ns.name, err, out)
		}
	})
	ns.ip(t, "link", "set", "lo", "up")
	return ns
}

// ip runs `ip -n <ns> args…`.
func (ns *testNetns) ip(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", append([]string{"-n", ns.name}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("ip -n %s %s: %v: %s", ns.name, strings.Join(args, " "), err, out)
	}
}

// do runs f on an OS thread that has joined the namespace, so sockets f opens belong
// to it. The thread is never reused: its goroutine exits still locked to it, and the
// runtime then discards it.
func (ns *testNetns) do(t testing.TB, f func() error) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with this goroutine
		if err := unix.Setns(ns.fd, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("enter namespace %s: %w", ns.name, err)
			return
		}
		errc <- f()
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// setPingGroupRange sets net.ipv4.ping_group_range inside the namespace only.
func (ns *testNetns) setPingGroupRange(t testing.TB, value string) {
	t.Helper()
	ns.do(t, func() error {
		return os.WriteFile("/proc/sys/net/ipv4/ping_group_range", []byte(value), 0)
	})
}

// dropNetRaw removes CAP_NET_RAW from the calling thread's effective capabilities;
// call it only on a thread that will be thrown away (inside do).
func dropNetRaw() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	data[unix.CAP_NET_RAW/32].Effective &^= 1 << (unix.CAP_NET_RAW % 32)
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}

// hostPingGroupRange reads the host's setting, to show the tests left it alone.
func hostPingGroupRange(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/net/ipv4/ping_group_range")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(strings.Fields(string(b)), " ")
}
