//go:build linux

package pingtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// errNoPermission marks failures that mean "this environment cannot create network
// namespaces" (a container without CAP_SYS_ADMIN, say): Start skips on it.
var errNoPermission = errors.New("not permitted")

// netnsDir is where `ip netns add` bind-mounts named namespaces (iproute2's
// NETNS_RUN_DIR; /run/netns on systems where /var/run links to /run).
const netnsDir = "/var/run/netns"

// namespace is a named network namespace made with `ip netns add`, so that a test
// can also enter it from a child process with `ip netns exec`.
type namespace struct {
	name string
	fd   int // open on netnsDir/name, for setns
}

// newNamespace creates an empty namespace named pdt-<pid>-<random>, unique across
// parallel test binaries.
func newNamespace() (*namespace, error) {
	name := fmt.Sprintf("pdt-%d-%08x", os.Getpid(), rand.Uint32())
	if err := ip("netns", "add", name); err != nil {
		return nil, err
	}
	fd, err := unix.Open(filepath.Join(netnsDir, name), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("open namespace %s: %w", name, err), ip("netns", "del", name))
	}
	return &namespace{name: name, fd: fd}, nil
}

// delete closes the namespace handle and removes it. Once its sockets are closed too,
// the kernel frees the namespace and everything in it (routes, sysctls).
func (ns *namespace) delete() error {
	err := unix.Close(ns.fd)
	return errors.Join(err, ip("netns", "del", ns.name))
}

// run calls f on a goroutine locked to an OS thread that has joined the namespace,
// and moves the thread back afterwards. If moving back fails the thread stays locked
// and the runtime discards it when the goroutine ends, so no goroutine ever runs on
// a thread left in the wrong namespace. Threads the runtime creates meanwhile do not
// inherit the namespace: since Go 1.10 a locked thread never clones new ones.
func (ns *namespace) run(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open current namespace: %w", err)
			return
		}
		defer unix.Close(orig)
		if err := unix.Setns(ns.fd, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("enter namespace %s: %w", ns.name, err)
			return
		}
		ferr := f()
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("leave namespace %s: %w", ns.name, err))
			return // still locked: the thread exits with this goroutine
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// sysctl sets a key such as "net/ipv4/icmp_echo_ignore_all" in the namespace; net
// sysctls are per namespace, so the host's values stay as they are.
func (ns *namespace) sysctl(key, value string) error {
	return ns.run(func() error {
		p := filepath.Join("/proc/sys", key)
		if err := os.WriteFile(p, []byte(value), 0); err != nil {
			return fmt.Errorf("sysctl %s: %w", key, err)
		}
		got, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("sysctl %s: %w", key, err)
		}
		if strings.Join(strings.Fields(string(got)), " ") != value {
			return fmt.Errorf("sysctl %s: set %q, reads back %q", key, value, got)
		}
		return nil
	})
}

// ip runs iproute2's ip command. A permission failure wraps errNoPermission.
func ip(args ...string) error { return ipStdin("", args...) }

// ipStdin runs ip with stdin as its standard input.
func ipStdin(stdin string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err == nil {
		return nil
	}
	out = bytes.TrimSpace(out)
	err = fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, out)
	if bytes.Contains(out, []byte("Operation not permitted")) || bytes.Contains(out, []byte("Permission denied")) {
		err = fmt.Errorf("%w: %w", errNoPermission, err)
	}
	return err
}
