package bus

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// connectAgent connects to b's listener as the agent of cred, recording the
// asynchronous errors (permission violations) the server sends it.
func connectAgent(t *testing.T, b *Bus, cred AgentCredential) (*nats.Conn, chan error, chan struct{}) {
	t.Helper()
	opts, err := cred.ConnectOptions()
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 16)
	closed := make(chan struct{})
	opts = append(opts, nats.NoReconnect(),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case errs <- err:
			default:
			}
		}),
		nats.ClosedHandler(func(*nats.Conn) { close(closed) }))
	nc, err := nats.Connect("nats://"+b.ListenAddr().String(), opts...)
	if err != nil {
		t.Fatalf("agent connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc, errs, closed
}

func enrol(t *testing.T, name, location string) (AgentCredential, AgentKey) {
	t.Helper()
	cred, pub, err := NewAgentCredential(name, location)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ParseAgentCredential(cred.Text())
	if err != nil || parsed != cred {
		t.Fatalf("credential does not survive its file: %v %+v", err, parsed)
	}
	return cred, AgentKey{PublicKey: pub, Location: location}
}

func waitError(t *testing.T, errs chan error, want string) {
	t.Helper()
	select {
	case err := <-errs:
		if !strings.Contains(strings.ToLower(err.Error()), want) {
			t.Fatalf("error %q, want one mentioning %q", err, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no %q error from the server", want)
	}
}

func TestAgentMayPublishOnlyItsOwnLocation(t *testing.T) {
	b, _ := open(t, Config{Listen: "127.0.0.1:0", User: "pingdeck", Password: "correct horse battery"})
	ctx := context.Background()
	if _, _, err := b.OpenResults(ctx, StreamLimits{MaxBytes: 1 << 20, MaxAge: time.Hour}); err != nil {
		t.Fatal(err)
	}
	fra, fraKey := enrol(t, "fra-1", "fra")
	_, nycKey := enrol(t, "nyc-1", "nyc")
	if err := b.SetAgents([]AgentKey{fraKey, nycKey}); err != nil {
		t.Fatal(err)
	}
	nc, errs, _ := connectAgent(t, b, fra)
	if !b.AgentConnected(fraKey.PublicKey) || b.AgentConnected(nycKey.PublicKey) {
		t.Fatal("AgentConnected does not match who is connected")
	}

	// Its own results reach the stream, acknowledged.
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	group := "8d0c8f43-5d0e-4a43-9a4e-6d4b2a0b0d11"
	if _, err := js.Publish(ctx, ResultSubject("fra", group), []byte(`{"source":"s","results":[]}`)); err != nil {
		t.Fatalf("publishing its own results: %v", err)
	}

	// Another location's results are refused by the server.
	if err := nc.Publish(ResultSubject("nyc", group), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	waitError(t, errs, "permissions violation")

	// Another agent's assignments cannot be read or asked for.
	if _, err := nc.SubscribeSync(AssignmentChangedSubject("nyc")); err != nil {
		t.Fatal(err)
	}
	waitError(t, errs, "permissions violation")
	if _, err := nc.Request(AssignmentsSubject("nyc"), nil, 500*time.Millisecond); err == nil {
		t.Fatal("asking for another location's assignments got an answer")
	}
	waitError(t, errs, "permissions violation")

	// Its own notices arrive.
	sub, err := nc.SubscribeSync(AssignmentChangedSubject("fra"))
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := b.Conn().Publish(AssignmentChangedSubject("fra"), []byte(`{"group":"g"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.NextMsg(2 * time.Second); err != nil {
		t.Fatalf("its own assignment notice: %v", err)
	}
}

func TestRevokedAgentIsDisconnectedAndRefused(t *testing.T) {
	b, _ := open(t, Config{Listen: "127.0.0.1:0", User: "pingdeck", Password: "correct horse battery"})
	fra, fraKey := enrol(t, "fra-1", "fra")
	nyc, nycKey := enrol(t, "nyc-1", "nyc")
	if err := b.SetAgents([]AgentKey{fraKey, nycKey}); err != nil {
		t.Fatal(err)
	}
	_, _, closed := connectAgent(t, b, fra)
	_, _, nycClosed := connectAgent(t, b, nyc)

	revoked := time.Now()
	if err := b.SetAgents([]AgentKey{nycKey}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
		t.Logf("disconnected %s after the revocation", time.Since(revoked).Round(time.Millisecond))
	case <-time.After(time.Second):
		t.Fatal("a revoked agent was still connected 1 s later")
	}
	opts, _ := fra.ConnectOptions()
	_, err := nats.Connect("nats://"+b.ListenAddr().String(), append(opts, nats.NoReconnect())...)
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Fatalf("a revoked credential connected again (err %v)", err)
	}
	// The other agent and the server's own connection are untouched.
	select {
	case <-nycClosed:
		t.Fatal("revoking one agent disconnected another")
	default:
	}
	if err := b.Ready(); err != nil {
		t.Fatal(err)
	}
}

func TestAgentsNeedAListeningEmbeddedServer(t *testing.T) {
	b, _ := open(t, Config{})
	if err := b.SetAgents(nil); !errors.Is(err, ErrAgentsNeedListener) {
		t.Fatalf("SetAgents without a listener: %v", err)
	}
}

func TestCredentialFileErrors(t *testing.T) {
	for _, text := range []string{"", "location: fra\n", "seed: SUAX\nlocation: fra\n", "location: a.b\nseed: x\n", "garbage"} {
		if _, err := ParseAgentCredential(text); err == nil {
			t.Errorf("ParseAgentCredential(%q) accepted it", text)
		}
	}
}
