//go:build linux

package pingtest_test

import (
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"

	"pingdeck/internal/ping/pingtest"
)

// childEnv carries the address TestChildProbe pings when it runs as a child process
// inside a Sim's namespace.
const childEnv = "PINGTEST_CHILD_PROBE"

func readSysctl(t *testing.T, key string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/" + key)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(strings.Fields(string(b)), " ")
}

func TestNamespaceLifecycle(t *testing.T) {
	keys := []string{"net/ipv4/ping_group_range", "net/ipv4/icmp_echo_ignore_all", "net/ipv6/icmp/echo_ignore_all"}
	host := map[string]string{}
	for _, k := range keys {
		host[k] = readSysctl(t, k)
	}
	var name string
	t.Run("inside", func(t *testing.T) {
		s := pingtest.Start(t, pingtest.Options{})
		name = s.Name()
		if !strings.HasPrefix(name, "pdt-") {
			t.Errorf("namespace name %q", name)
		}
		out, err := exec.Command("ip", "netns", "exec", name, "cat", "/proc/sys/net/ipv4/ping_group_range").CombinedOutput()
		if got := strings.Join(strings.Fields(string(out)), " "); err != nil || got != "0 2147483647" {
			t.Errorf("ping_group_range in the namespace = %q, %v", got, err)
		}
		out, err = exec.Command("ip", "-n", name, "route", "show", "table", "local").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "local 198.18.0.0/16 dev lo") {
			t.Errorf("local routes in the namespace: %v\n%s", err, out)
		}
		// Run leaves the calling goroutine's namespace alone.
		if err := s.Run(func() error { return nil }); err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if got := readSysctl(t, k); got != host[k] {
				t.Errorf("host %s changed to %q (was %q)", k, got, host[k])
			}
		}
	})
	if name == "" {
		return // skipped
	}
	if _, err := os.Stat("/run/netns/" + name); !os.IsNotExist(err) {
		t.Errorf("namespace %s still there after cleanup: %v", name, err)
	}
	for _, k := range keys {
		if got := readSysctl(t, k); got != host[k] {
			t.Errorf("host %s changed to %q (was %q)", k, got, host[k])
		}
	}
}

// TestChildProbe pings from a child process started with `ip netns exec`.
func TestChildProbe(t *testing.T) {
	if addrs := os.Getenv(childEnv); addrs != "" {
		for addr := range strings.SplitSeq(addrs, ",") {
			childProbe(t, addr)
		}
		return
	}
	s := pingtest.Start(t, pingtest.Options{})
	s.Set(netip.MustParseAddr("198.18.3.3"), pingtest.Behavior{Delay: 5 * time.Millisecond})
	cmd := exec.Command("ip", "netns", "exec", s.Name(), os.Args[0], "-test.run=^TestChildProbe$", "-test.v")
	// GORACE: a -race binary otherwise sleeps 1 s at exit.
	cmd.Env = append(os.Environ(), childEnv+"=198.18.3.3", "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "child got reply") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if rx, tx := s.Stats(); rx != 1 || tx != 1 {
		t.Errorf("Stats = %d received, %d answered; want 1, 1", rx, tx)
	}
}

// TestPeerProbe pings from a child process in a peer namespace: the simulated address
// answers through the veth pair with its delay, and the peer's own loopback answers
// as any host's does.
func TestPeerProbe(t *testing.T) {
	s := pingtest.Start(t, pingtest.Options{})
	s.Set(netip.MustParseAddr("198.18.3.3"), pingtest.Behavior{Delay: 5 * time.Millisecond})
	p := s.NewPeer(t)
	cmd := exec.Command("ip", "netns", "exec", p.Name(), os.Args[0], "-test.run=^TestChildProbe$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"=198.18.3.3,127.0.0.1", "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Count(string(out), "child got reply") != 2 {
		t.Fatalf("child: %v\n%s", err, out)
	}
	// The child can read the reply before the responder has counted it as sent.
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		rx, tx := s.Stats()
		if rx == 1 && tx == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Stats = %d received, %d answered; want 1, 1 (127.0.0.1 is the peer's own)", rx, tx)
		}
	}
}

// childProbe sends one echo request to addr with a datagram ICMP socket, as an
// unprivileged engine would, and waits for the reply.
func childProbe(t *testing.T, addr string) {
	c, err := icmp.ListenPacket("udp4", "0.0.0.0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b, err := (&icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{Seq: 7, Data: []byte("child")}}).Marshal(nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := c.WriteTo(b, &net.UDPAddr{IP: net.ParseIP(addr)}); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 1500)
	n, _, err := c.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	m, err := icmp.ParseMessage(1, buf[:n])
	if err != nil || m.Type != ipv4.ICMPTypeEchoReply {
		t.Fatalf("reply %v, %v", m, err)
	}
	t.Logf("child got reply after %v", time.Since(start))
}
