//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// netnsFlag, as the first argument, says this pingbench already runs in the network
// namespace its parent made for it (hidden: only the parent uses it).
const netnsFlag = "-in-netns"

// runInNetns re-executes pingbench with args in a new network namespace and waits
// for it. Inside, lo is the benchmark's alone: other loopback ICMP on the machine
// (tests pinging 127.x addresses, say) can neither reach the reference sniffer nor
// be slowed by the benchmark's 20,000 packets per second. The host's interfaces,
// routes and sysctls are not touched; the namespace goes away with the process.
func runInNetns(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("netns: find own binary: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe, append([]string{netnsFlag}, args[1:]...)...)
	cmd.Args[0] = args[0]
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = stopGrace + cellGraceAfterSignal
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return errAlreadyReported // the inner pingbench said why on stderr
		}
		return fmt.Errorf("netns: run pingbench in a new network namespace (needs root; or pass -netns=false): %w", err)
	}
	return nil
}

// cellGraceAfterSignal is how long the inner pingbench may take to stop its current
// cell on SIGINT (its children have stopGrace each).
const cellGraceAfterSignal = 10e9

// errAlreadyReported says the error has been printed already; exit non-zero quietly.
var errAlreadyReported = errors.New("already reported")

// loopbackUp brings up lo, which starts down in a new network namespace; the kernel
// then gives it 127.0.0.1/8, so the whole of 127.0.0.0/8 answers pings.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("netns: socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("netns: lo: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("netns: get lo flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("netns: bring lo up: %w", err)
	}
	return nil
}

// allowPingSockets lets every group open datagram ICMP ("ping") sockets in the
// benchmark's namespace (net.ipv4.ping_group_range is per namespace; the host's
// stays as it is), so that -mode unprivileged can be measured as root. Under the
// default -mode auto the namespace keeps the kernel's default (none allowed), so the
// engines take raw sockets, as fping does as root.
func allowPingSockets() error {
	const key = "/proc/sys/net/ipv4/ping_group_range"
	if err := os.WriteFile(key, []byte("0 2147483647"), 0); err != nil {
		return fmt.Errorf("netns: allow ping sockets: %w", err)
	}
	return nil
}
