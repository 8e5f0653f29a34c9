package notify_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pingdeck/internal/notify"
)

// startSMTP runs a real SMTP server (aiosmtpd, testdata/smtpsink.py) on a free
// loopback port; it writes what it accepts into the returned dir. args are the
// optional USER PASSWORD [login].
func startSMTP(t *testing.T, args ...string) (port int, maildir string) {
	t.Helper()
	py := "/usr/bin/python3" // Debian's, where python3-aiosmtpd is installed
	if _, err := os.Stat(py); err != nil {
		py = binary(t, "python3")
	}
	if err := exec.Command(py, "-c", "import aiosmtpd").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("python3-aiosmtpd not installed (make test-deps installs it)")
		}
		t.Skip("python3-aiosmtpd not installed (make test-deps installs it)")
	}
	port, maildir = freePort(t), t.TempDir()
	lines := start(t, py, append([]string{"testdata/smtpsink.py", itoa(port), maildir}, args...)...)
	select {
	case l := <-lines:
		if l != "ready" {
			t.Fatalf("smtpsink said %q, want ready", l)
		}
	case <-time.After(time.Minute):
		t.Fatal("smtpsink did not start within a minute")
	}
	return port, maildir
}

func mails(t *testing.T, dir string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// TestEmail: mail reaches a real SMTP server without auth (STARTTLS not offered, so
// "auto" sends in the clear on loopback), with AUTH PLAIN and with AUTH LOGIN; a wrong
// password and a required-but-missing STARTTLS fail without retries.
func TestEmail(t *testing.T) {
	tests := []struct {
		name      string
		server    []string
		config    string
		secret    string
		wantSent  bool
		wantError string
	}{
		{"no auth", nil, `{"host":"127.0.0.1","port":%d,"from":"pingdeck <alerts@example.com>","to":["noc@example.com","oncall@example.com"]}`, "", true, ""},
		{"auth plain", []string{"alerts", "pa55word"}, `{"host":"127.0.0.1","port":%d,"username":"alerts","from":"alerts@example.com","to":["noc@example.com"]}`, "pa55word", true, ""},
		{"auth login", []string{"alerts", "pa55word", "login"}, `{"host":"127.0.0.1","port":%d,"username":"alerts","from":"alerts@example.com","to":["noc@example.com"]}`, "pa55word", true, ""},
		{"wrong password", []string{"alerts", "pa55word"}, `{"host":"127.0.0.1","port":%d,"username":"alerts","from":"alerts@example.com","to":["noc@example.com"]}`, "guess", false, "535"},
		{"starttls required", nil, `{"host":"127.0.0.1","port":%d,"tls":"starttls","from":"alerts@example.com","to":["noc@example.com"]}`, "", false, "STARTTLS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port, dir := startSMTP(t, tt.server...)
			ctx := context.Background()
			s := sqliteStore(t)
			ch := newChannel(t, s, notify.KindEmail, strings.Replace(tt.config, "%d", itoa(port), 1), tt.secret, true)
			clk := newClock()
			d := notify.NewDispatcher(s, notify.Options{Now: clk.Now})
			if err := d.Enqueue(ctx, []string{ch.ID}, firing("m1", clk.Now())); err != nil {
				t.Fatal(err)
			}
			for range 3 {
				if _, err := d.SendDue(ctx); err != nil {
					t.Fatal(err)
				}
				clk.Add(time.Hour)
			}
			l := deliveries(t, s, ch.ID)[0]
			got := mails(t, dir)
			if !tt.wantSent {
				if l.Status != notify.StatusFailed || l.Attempts != 1 || !strings.Contains(l.LastError, tt.wantError) || len(got) != 0 {
					t.Fatalf("delivery %+v, %d mails; want failed once with %q, no mail", l.Delivery, len(got), tt.wantError)
				}
				return
			}
			if l.Status != notify.StatusSent || len(got) != 1 {
				t.Fatalf("delivery %+v, %d mails; want sent, one mail", l.Delivery, len(got))
			}
			m := got[0]
			for _, want := range []string{"Subject: [FIRING] core down: core/198.18.0.1 from local", "Target:   198.18.0.1", "loss_pct=100", "RCPT TO: noc@example.com"} {
				if !strings.Contains(m, want) {
					t.Errorf("mail lacks %q:\n%s", want, m)
				}
			}
		})
	}
}
