package shared

import "testing"

// TestSharedDeadlineQueue: deadlines come out in the order they went in, across the
// ring's wrap-around and while it grows, so no probe's deadline is skipped or repeated.
func TestSharedDeadlineQueue(t *testing.T) {
	var q sharedDeadlineQueue
	next, want := int64(0), int64(0)
	push := func(n int) {
		for range n {
			q.push(sharedDeadline{at: next})
			next++
		}
	}
	pop := func(n int) {
		t.Helper()
		for range n {
			d, ok := q.peek()
			if !ok || d.at != want {
				t.Fatalf("got %+v (ok %v), want deadline %d", d, ok, want)
			}
			q.pop()
			want++
		}
	}
	push(200)
	pop(150) // the head moves on: later pushes wrap around
	push(200)
	q.reserve(1000) // grows while wrapped
	pop(100)
	push(2000) // grows by itself
	pop(int(next - want))
	if _, ok := q.peek(); ok || q.size != 0 {
		t.Fatalf("queue not empty: %d left", q.size)
	}
}
