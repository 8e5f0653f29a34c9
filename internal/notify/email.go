package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/smtp"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"time"
)

// emailMessage renders the notification as a plain-text RFC 5322 message.
func emailMessage(cfg *EmailConfig, n *Notification, deliveryID string, now time.Time) []byte {
	var b strings.Builder
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, oneLine(v)) }
	header("From", cfg.From)
	header("To", strings.Join(cfg.To, ", "))
	header("Subject", mime.QEncoding.Encode("utf-8", n.subject()))
	header("Date", now.UTC().Format(time.RFC1123Z))
	header("Message-ID", "<"+deliveryID+"@pingdeck>")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "8bit")
	b.WriteString("\r\n")
	// net/smtp's data writer dot-stuffs lines; normalize to CRLF line ends.
	b.WriteString(strings.ReplaceAll(n.body(), "\n", "\r\n"))
	return []byte(b.String())
}

func (s *senders) sendEmail(ctx context.Context, c *Channel, d *Delivery) (err error) {
	cfg, err := decode[EmailConfig](c)
	if err != nil {
		return permanent(err)
	}
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	conn, err := newDialer(c.AllowInternal).DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	tlsConfig := &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12}
	if cfg.TLS == tlsImplicit {
		conn = tls.Client(conn, tlsConfig)
	}
	client, err := smtp.NewClient(conn, cfg.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp %s: %w", addr, err)
	}
	defer client.Close()
	if err := client.Hello("pingdeck"); err != nil {
		return fmt.Errorf("smtp EHLO: %w", err)
	}
	if cfg.TLS != tlsImplicit {
		if ok, _ := client.Extension("STARTTLS"); ok {
			if err := client.StartTLS(tlsConfig); err != nil {
				return fmt.Errorf("smtp STARTTLS: %w", err)
			}
		} else if cfg.TLS == tlsStartTLS {
			return permanent(errors.New("smtp: the server does not offer STARTTLS, which this channel requires"))
		}
	}
	if cfg.Username != "" {
		if err := smtpAuth(client, cfg, c.Secret); err != nil {
			return err
		}
	}
	if err := client.Mail(addressOnly(cfg.From)); err != nil {
		return smtpError("MAIL FROM", err)
	}
	for _, to := range cfg.To {
		if err := client.Rcpt(to); err != nil {
			return smtpError("RCPT TO "+to, err)
		}
	}
	w, err := client.Data()
	if err != nil {
		return smtpError("DATA", err)
	}
	if _, err := w.Write(emailMessage(cfg, &d.Notification, d.ID, s.now())); err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return smtpError("end of DATA", err)
	}
	_ = client.Quit()
	return nil
}

// smtpAuth authenticates with PLAIN, or LOGIN when that is all the server offers.
// Both send the password, so both refuse a connection that is neither TLS nor to
// localhost (net/smtp's rule for PLAIN).
func smtpAuth(client *smtp.Client, cfg *EmailConfig, password string) error {
	ok, mechs := client.Extension("AUTH")
	if !ok {
		return permanent(errors.New("smtp: the server offers no AUTH, but the channel has a username"))
	}
	var a smtp.Auth
	switch fields := strings.Fields(strings.ToUpper(mechs)); {
	case slices.Contains(fields, "PLAIN"):
		a = smtp.PlainAuth("", cfg.Username, password, cfg.Host)
	case slices.Contains(fields, "LOGIN"):
		a = &loginAuth{username: cfg.Username, password: password, host: cfg.Host}
	default:
		return permanent(fmt.Errorf("smtp: the server offers AUTH %s; pingdeck speaks PLAIN and LOGIN", mechs))
	}
	if err := client.Auth(a); err != nil {
		return smtpError("AUTH", err)
	}
	return nil
}

// loginAuth is the LOGIN mechanism (username and password, each base64, on request).
type loginAuth struct {
	username, password, host string
	step                     int
}

func (a *loginAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	local := server.Name == "localhost" || server.Name == "127.0.0.1" || server.Name == "::1"
	if !server.TLS && !local {
		return "", nil, errors.New("smtp: refusing AUTH LOGIN over an unencrypted connection")
	}
	if server.Name != a.host {
		return "", nil, errors.New("smtp: wrong host name")
	}
	return "LOGIN", nil, nil
}

// Next answers the username challenge, then the password one. Servers word them
// differently ("Username:", "User Name\x00"), so the order decides, the words only check.
func (a *loginAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	a.step++
	challenge := strings.ToLower(string(fromServer))
	switch {
	case a.step == 1 && strings.Contains(challenge, "user"):
		return []byte(a.username), nil
	case a.step == 2 && strings.Contains(challenge, "pass"):
		return []byte(a.password), nil
	}
	return nil, fmt.Errorf("smtp: unexpected LOGIN challenge %q", fromServer)
}

// smtpError marks a 5xx reply permanent; 4xx (try later) and broken connections are retried.
func smtpError(step string, err error) error {
	err = fmt.Errorf("smtp %s: %w", step, err)
	var reply *textproto.Error
	if errors.As(err, &reply) && reply.Code >= 500 {
		return permanent(err)
	}
	return err
}

// addressOnly is the bare address of a "Name <addr>" From.
func addressOnly(from string) string {
	if i, j := strings.LastIndex(from, "<"), strings.LastIndex(from, ">"); i >= 0 && j > i {
		return from[i+1 : j]
	}
	return from
}
