package bus

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
)

// serverLog passes the embedded NATS server's log to pingdeck's, and keeps the first
// fatal message so a failed start can say why. The server's notices (start-up banner,
// settings) are debug here: pingdeck says in its own words what the bus does. Its
// warnings and errors are counted, so a start can sum up damage it met.
type serverLog struct {
	log *slog.Logger

	mu        sync.Mutex
	firstFail string
	warnings  int
}

func (l *serverLog) Noticef(format string, v ...any) {
	l.log.Debug("nats: " + fmt.Sprintf(format, v...))
}
func (l *serverLog) Debugf(format string, v ...any) {
	l.log.Debug("nats: " + fmt.Sprintf(format, v...))
}
func (l *serverLog) Tracef(format string, v ...any) {
	l.log.Debug("nats: " + fmt.Sprintf(format, v...))
}

func (l *serverLog) Warnf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if routeRefused(msg) {
		l.log.Warn("nats: " + msg)
		return
	}
	if clusterForming(msg) {
		l.log.Info("nats: " + msg)
		return
	}
	l.log.Warn("nats: " + msg)
	l.count()
}

func (l *serverLog) Errorf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if routeRefused(msg) {
		l.log.Warn("nats: " + msg)
		return
	}
	if clusterForming(msg) {
		l.log.Info("nats: " + msg)
		return
	}
	l.log.Error("nats: " + msg)
	l.count()
}

// clusterForming reports whether a server message is about routes to the other
// replicas or JetStream's cluster still forming: expected while replicas start or one
// is away, and no sign of a damaged store.
func clusterForming(msg string) bool {
	for _, s := range []string{"route", "Route", "routing", "meta leader"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// routeRefused reports whether a server message is a route's TLS handshake failing: a
// peer whose certificate the CA did not sign (or that does not speak TLS), worth a
// warning but no sign of a damaged store.
func routeRefused(msg string) bool {
	return strings.Contains(msg, "TLS route handshake error")
}

// Fatalf records msg for tryStart; the server stops what it was starting, and pingdeck
// (not the library) decides whether to exit.
func (l *serverLog) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.log.Error("nats: " + msg)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.firstFail == "" {
		l.firstFail = msg
	}
}

func (l *serverLog) count() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.warnings++
}

// fatal is the first fatal message, if any.
func (l *serverLog) fatal() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.firstFail
}

// problems is how many warnings and errors the server logged so far.
func (l *serverLog) problems() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.warnings
}
