package netlimit

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// server accepts on a limited listener and hands every connection it is given to the test.
type server struct {
	ln       *Listener
	accepted chan net.Conn
	done     sync.WaitGroup
}

func startServer(t *testing.T, o Options) *server {
	t.Helper()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := Wrap(raw, o)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{ln: ln, accepted: make(chan net.Conn, 64)}
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepted <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.done.Wait()
		close(s.accepted)
		for c := range s.accepted {
			c.Close()
		}
	})
	return s
}

// dialFrom connects from a loopback source address (any of 127.0.0.0/8 works on Linux).
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", src, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// admitted dials from src and waits for the server to be handed the connection.
func (s *server) admitted(t *testing.T, src string) (client, server net.Conn) {
	t.Helper()
	client = dialFrom(t, src, s.ln.Addr().String())
	select {
	case server = <-s.accepted:
		return client, server
	case <-time.After(5 * time.Second):
		t.Fatalf("connection from %s was not accepted within 5s", src)
	}
	return nil, nil
}

// refused dials from src and waits for the server to close the connection at once (the
// reset can arrive before the dial returns).
func (s *server) refused(t *testing.T, src string) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", s.ln.Addr().String())
	if err == nil {
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = c.Read(make([]byte, 1))
	}
	if !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("connection from %s: %v, want it closed by the server at once", src, err)
	}
	select {
	case c := <-s.accepted:
		t.Fatalf("connection from %v was handed to the server", c.RemoteAddr())
	default:
	}
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestLimitsPerAddressAndTotal(t *testing.T) {
	var mu sync.Mutex
	var refusals []string
	s := startServer(t, Options{MaxTotal: 5, MaxPerAddress: 3, OnRefuse: func(a netip.Addr, why Reason) {
		mu.Lock()
		defer mu.Unlock()
		refusals = append(refusals, a.String()+" "+string(why))
	}})
	var fromOne []net.Conn
	for range 3 {
		_, sc := s.admitted(t, "127.0.0.1")
		fromOne = append(fromOne, sc)
	}
	s.refused(t, "127.0.0.1") // a fourth from one address
	s.admitted(t, "127.0.0.2")
	s.admitted(t, "127.0.0.2") // five in all
	s.refused(t, "127.0.0.3")  // an address with none, but the total is reached
	if got := s.ln.Open(); got != 5 {
		t.Fatalf("Open() = %d, want 5", got)
	}
	// Closing one of the first address's connections (as the HTTP server does) frees
	// its place, once, however often it is closed.
	fromOne[0].Close()
	fromOne[0].Close()
	s.admitted(t, "127.0.0.1")
	s.refused(t, "127.0.0.1")
	// The client sees its refusal as soon as the listener closes it, which can be just
	// before the listener counts it: wait for the count, briefly.
	for deadline := time.Now().Add(2 * time.Second); s.ln.Refused(PerAddress) != 2 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if a, b := s.ln.Refused(PerAddress), s.ln.Refused(Total); a != 2 || b != 1 {
		t.Fatalf("refused per address %d, total %d; want 2 and 1", a, b)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"127.0.0.1 per_address", "127.0.0.3 total", "127.0.0.1 per_address"}
	if len(refusals) != len(want) {
		t.Fatalf("OnRefuse saw %v, want %v", refusals, want)
	}
	for i := range want {
		if refusals[i] != want[i] {
			t.Fatalf("OnRefuse saw %v, want %v", refusals, want)
		}
	}
}

// TestExemptAddressesCountOnlyTowardTheTotal: a trusted proxy carries many clients.
func TestExemptAddressesCountOnlyTowardTheTotal(t *testing.T) {
	s := startServer(t, Options{MaxTotal: 4, MaxPerAddress: 1, Exempt: []netip.Prefix{netip.MustParsePrefix("127.0.0.9/32")}})
	for range 3 {
		s.admitted(t, "127.0.0.9")
	}
	s.admitted(t, "127.0.0.1")
	s.refused(t, "127.0.0.9") // total reached
}

// TestAcceptedConnectionKeepsItsFileDescriptor: the live stream writes to the socket's
// descriptor directly (syscall.Conn), and net/http half-closes with CloseWrite.
func TestAcceptedConnectionKeepsItsFileDescriptor(t *testing.T) {
	s := startServer(t, Options{MaxTotal: 1, MaxPerAddress: 1})
	_, sc := s.admitted(t, "127.0.0.1")
	if _, ok := sc.(interface {
		SyscallConn() (syscall.RawConn, error)
	}); !ok {
		t.Fatalf("%T does not offer SyscallConn", sc)
	}
	if _, ok := sc.(interface{ CloseWrite() error }); !ok {
		t.Fatalf("%T does not offer CloseWrite", sc)
	}
}

func TestWrapRefusesNoLimit(t *testing.T) {
	if _, err := Wrap(nil, Options{MaxTotal: 0, MaxPerAddress: 1}); err == nil {
		t.Fatal("Wrap accepted MaxTotal 0")
	}
}
