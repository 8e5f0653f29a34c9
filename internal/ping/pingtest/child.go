//go:build linux

package pingtest

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// childEnv marks a test process that RunChild started inside a simulator's namespace.
const childEnv = "PINGDECK_PINGTEST_CHILD"

// InChild reports whether this test process is the copy RunChild started inside a
// namespace: there, every thread and every socket the code under test opens belongs to
// the namespace, which [Sim.Run] cannot promise for code that opens sockets on its own
// goroutines (one pro-bing pinger per target does).
func InChild() bool { return os.Getenv(childEnv) != "" }

// RunChild runs the current test again, as a child process inside the namespace, and
// fails t with the child's output if it fails. The parent keeps the simulator running
// (its responder lives in the namespace already); the child sees InChild() true and
// does the probing.
func (s *Sim) RunChild(t *testing.T, env ...string) {
	t.Helper()
	parts := strings.Split(t.Name(), "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(strings.ReplaceAll(p, " ", "_")) + "$"
	}
	cmd := exec.Command("ip", "netns", "exec", s.Name(), os.Args[0],
		"-test.run", strings.Join(parts, "/"), "-test.count", "1", "-test.v")
	cmd.Env = append(append(os.Environ(), childEnv+"=1"), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child test in namespace %s failed: %v\n%s", s.Name(), err, out)
	}
	if !strings.Contains(string(out), "--- PASS") {
		t.Fatalf("child test in namespace %s ran nothing:\n%s", s.Name(), out)
	}
}
