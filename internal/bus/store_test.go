package bus

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// TestUnusableStoreIsMovedAside: a store JetStream cannot open at all (here a file
// where its directory should be) is moved aside with an error logged, and the bus
// starts on an empty one (listening on a random port: the retry must not reuse the
// options the failed start changed).
func TestUnusableStoreIsMovedAside(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bus")
	if err := os.WriteFile(dir, []byte("garbage, not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, logs := open(t, Config{StoreDir: dir, Listen: "127.0.0.1:0", User: "u", Password: "long-enough-password"})
	if err := b.Ready(); err != nil {
		t.Fatal(err)
	}
	if !b.server.JetStreamEnabled() {
		t.Fatal("JetStream is off")
	}
	if !contains(logs.String(), "JetStream store could not be opened; moved it aside") {
		t.Fatalf("no clear log line:\n%s", logs)
	}
	aside, _ := filepath.Glob(dir + ".unusable-*")
	if len(aside) != 1 {
		t.Fatalf("moved-aside store: %v", aside)
	}
}

// TestCorruptStoreFilesStillStart: every file of a store holding a stream is
// overwritten with garbage or truncated; the bus still starts, with JetStream.
func TestCorruptStoreFilesStillStart(t *testing.T) {
	for _, damage := range []string{"garbage", "truncated"} {
		t.Run(damage, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "bus")
			first, err := Open(Config{StoreDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			js, err := jetstream.New(first.Conn())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "TEST", Subjects: []string{"test.>"}, Storage: jetstream.FileStorage}); err != nil {
				t.Fatal(err)
			}
			for i := range 100 {
				if _, err := js.Publish(ctx, "test.x", []byte(strings.Repeat("x", i))); err != nil {
					t.Fatal(err)
				}
			}
			if err := first.Close(); err != nil {
				t.Fatal(err)
			}

			files := 0
			filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				files++
				if damage == "truncated" {
					return os.Truncate(path, 3)
				}
				return os.WriteFile(path, []byte(strings.Repeat("\xde\xad garbage ", 50)), 0o600)
			})
			if files == 0 {
				t.Fatal("the store holds no files to damage")
			}

			b, logs := open(t, Config{StoreDir: dir})
			if err := b.Ready(); err != nil {
				t.Fatal(err)
			}
			if !b.server.JetStreamEnabled() {
				t.Fatalf("JetStream is off after damage to %d files\n%s", files, logs)
			}
			if !contains(logs.String(), "JetStream store was damaged") {
				t.Fatalf("no clear log line after damage to %d files:\n%s", files, logs)
			}
		})
	}
}
