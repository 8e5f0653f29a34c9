package bus

import (
	"strings"
	"testing"
	"time"
)

func TestHelloAcceptsOurVersionAndRefusesOthersClearly(t *testing.T) {
	b, err := Open(Config{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	r, err := b.AnswerHellos()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	if v, err := Greet(b.Conn(), "agent-new", []int{1, 2}, 5*time.Second); err != nil || v != ProtocolVersion {
		t.Fatalf("an agent speaking v1 and v2: %d, %v; want v%d", v, err, ProtocolVersion)
	}
	for _, tc := range []struct {
		versions []int
		want     string
	}{
		{[]int{0}, `this server speaks bus protocol v1; "agent-old" speaks v0: upgrade the agent`},
		{[]int{2, 3}, `speaks v2, v3: upgrade the server`},
		{nil, `speaks no version: upgrade the agent`},
	} {
		_, err := Greet(b.Conn(), "agent-old", tc.versions, 5*time.Second)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("versions %v: %v, want an error saying %q", tc.versions, err, tc.want)
		}
	}
}
