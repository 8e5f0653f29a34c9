package bus

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"pingdeck/internal/groups"
)

// collect subscribes to the bus's changes and returns what arrives.
func collect(t *testing.T, b *Bus) <-chan groups.Change {
	t.Helper()
	got := make(chan groups.Change, 100000)
	sub, err := b.SubscribeChanges(groups.SubscriberFunc(func(c groups.Change) { got <- c }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Stop() })
	return got
}

func next(t *testing.T, got <-chan groups.Change) groups.Change {
	t.Helper()
	select {
	case c := <-got:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("no change arrived in 5 s")
	}
	return groups.Change{}
}

func TestChangesRoundTrip(t *testing.T) {
	b, _ := open(t, Config{})
	got := collect(t, b)
	created := time.Date(2026, 12, 6, 10, 0, 0, 123456789, time.UTC)
	for _, c := range []groups.Change{
		{Kind: groups.ChangeGroupUpdated, GroupID: "g1", AccessChanged: true},
		{Kind: groups.ChangeTargets, GroupID: "g1", TargetIDs: []string{"t1", "t2"}},
		{Kind: groups.ChangeShare, GroupID: "g1", UserID: "u2", Notification: &groups.Notification{
			ID: "n1", UserID: "u2", FromUserID: "u1", FromUsername: "alice", Kind: groups.NotifyShared,
			GroupID: "g1", GroupName: "edge routers", Message: "have a look", CreatedAt: created}},
		{Kind: groups.ChangeCredentialsEnded, UserID: "u2", CredentialIDs: []string{"s1"}},
		{Kind: groups.ChangeUserDeleted, UserID: "u3", GroupIDs: []string{"g7", "g8"}},
	} {
		b.PublishChange(c)
		if got := next(t, got); !reflect.DeepEqual(got, c) {
			t.Fatalf("sent %+v\ngot  %+v", c, got)
		}
	}
}

// TestChangesKeepTheirOrder: one group's changes arrive in the order they were
// published, across kinds (and so subjects).
func TestChangesKeepTheirOrder(t *testing.T) {
	b, _ := open(t, Config{})
	got := collect(t, b)
	kinds := []groups.ChangeKind{groups.ChangeGroupUpdated, groups.ChangeTargets, groups.ChangeShare}
	const n = 3000
	for i := range n {
		b.PublishChange(groups.Change{Kind: kinds[i%len(kinds)], GroupID: "g1", TargetIDs: []string{fmt.Sprint(i)}})
	}
	for i := range n {
		c := next(t, got)
		if c.TargetIDs[0] != fmt.Sprint(i) || c.Kind != kinds[i%len(kinds)] {
			t.Fatalf("change %d arrived as %s %v", i, c.Kind, c.TargetIDs)
		}
	}
}

// TestLargeChangesAreSplit: a change naming more IDs than one message holds arrives as
// several changes of its kind that together name every ID, in order.
func TestLargeChangesAreSplit(t *testing.T) {
	b, _ := open(t, Config{})
	got := collect(t, b)
	ids := make([]string, 60000) // ~2.5 MB of UUIDs, over NATS's 1 MB payload
	for i := range ids {
		ids[i] = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
	}
	b.PublishChange(groups.Change{Kind: groups.ChangeTargets, GroupID: "g1", TargetIDs: ids})
	b.PublishChange(groups.Change{Kind: groups.ChangeGroupDeleted, GroupID: "g1"}) // a marker
	var all []string
	parts := 0
	for c := next(t, got); c.Kind != groups.ChangeGroupDeleted; c = next(t, got) {
		if c.Kind != groups.ChangeTargets || c.GroupID != "g1" {
			t.Fatalf("part %d: %+v", parts, c)
		}
		all = append(all, c.TargetIDs...)
		parts++
	}
	if parts < 3 || !reflect.DeepEqual(all, ids) {
		t.Fatalf("%d parts with %d IDs; want ≥ 3 parts with all %d, in order", parts, len(all), len(ids))
	}
}

// TestChangesReachAnotherProcess: what one server publishes, a client of its listener
// (another replica, say) sees on the documented subject, as JSON.
func TestChangesReachAnotherProcess(t *testing.T) {
	b, _ := open(t, Config{Listen: "127.0.0.1:0", User: "replica", Password: "correct horse battery"})
	nc, err := nats.Connect("nats://"+b.ListenAddr().String(), nats.UserInfo("replica", "correct horse battery"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("pingdeck.v1.changes.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	b.PublishChange(groups.Change{Kind: groups.ChangeGroupDeleted, GroupID: "g9"})
	m, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "pingdeck.v1.changes.group_deleted" {
		t.Fatalf("subject %q", m.Subject)
	}
	var payload map[string]any
	if err := json.Unmarshal(m.Data, &payload); err != nil || payload["kind"] != "group_deleted" || payload["group_id"] != "g9" {
		t.Fatalf("payload %s (%v)", m.Data, err)
	}
}

// TestUndecodableChangesAreDropped: a message that is not a change (from a buggy or
// foreign publisher) is logged and skipped; the next change still arrives.
func TestUndecodableChangesAreDropped(t *testing.T) {
	b, logs := open(t, Config{})
	got := collect(t, b)
	b.nc.Publish(ChangeSubject(groups.ChangeGroupUpdated), []byte("not json"))
	b.nc.Publish(ChangeSubject(groups.ChangeGroupUpdated), []byte(`{"kind":"group_deleted","group_id":"g1"}`))
	b.PublishChange(groups.Change{Kind: groups.ChangePin, UserID: "u1", GroupID: "g2"})
	if c := next(t, got); c.Kind != groups.ChangePin {
		t.Fatalf("got %+v, want the pin change", c)
	}
	if n := len(got); n != 0 {
		t.Fatalf("%d more changes delivered", n)
	}
	for _, want := range []string{"undecodable change dropped", "change on the wrong subject dropped"} {
		if !contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}
