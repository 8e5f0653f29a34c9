package bus

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/nats-io/nats-server/v2/server"
)

// RouteTLS is mutual TLS on the routes between clustered servers: each server shows
// Cert (with Key) to the others, whether it connects or is connected to, and takes a
// route only from a server whose certificate CA signed. All three, or none (plain
// routes).
type RouteTLS struct {
	Cert, Key, CA string // PEM files
}

// On says whether the routes are to be TLS.
func (r RouteTLS) On() bool { return r != RouteTLS{} }

// Which of RouteTLS's files a RouteTLSError is about.
const (
	RouteTLSCert = "certificate"
	RouteTLSKey  = "key"
	RouteTLSCA   = "CA"
)

// RouteTLSError is a RouteTLS file that cannot be used, and why.
type RouteTLSError struct {
	File string // RouteTLSCert, RouteTLSKey or RouteTLSCA
	Path string
	Err  error
}

func (e *RouteTLSError) Error() string {
	return fmt.Sprintf("route TLS %s %s: %v", e.File, e.Path, e.Err)
}

func (e *RouteTLSError) Unwrap() error { return e.Err }

// Check reads the three files and says what is wrong with them, as a *RouteTLSError
// naming the file at fault: missing, unreadable, not PEM, a key that is not the
// certificate's, or a certificate the CA did not sign, expired, or not valid for both
// server and client authentication (a server is either on each route).
func (r RouteTLS) Check() error {
	bad := func(file, path string, err error) error { return &RouteTLSError{File: file, Path: path, Err: err} }
	if r.Cert == "" || r.Key == "" || r.CA == "" {
		return errors.New("route TLS needs a certificate, its key and the CA: all three or none")
	}
	leaf, err := readCertificate(r.Cert)
	if err != nil {
		return bad(RouteTLSCert, r.Cert, err)
	}
	if _, err := tls.LoadX509KeyPair(r.Cert, r.Key); err != nil {
		return bad(RouteTLSKey, r.Key, err)
	}
	caPEM, err := os.ReadFile(r.CA)
	if err != nil {
		return bad(RouteTLSCA, r.CA, err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return bad(RouteTLSCA, r.CA, errors.New("no PEM certificate in it"))
	}
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
			return bad(RouteTLSCert, r.Cert, fmt.Errorf("not usable with the CA %s for %s: %w", r.CA, usageName(usage), err))
		}
	}
	return nil
}

// readCertificate is the first certificate of a PEM file.
func readCertificate(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		if block.Type == "CERTIFICATE" {
			return x509.ParseCertificate(block.Bytes)
		}
	}
	return nil, errors.New("no PEM certificate in it")
}

func usageName(u x509.ExtKeyUsage) string {
	if u == x509.ExtKeyUsageClientAuth {
		return "client authentication"
	}
	return "server authentication"
}

// routeTLSTimeout bounds a route's TLS handshake, in seconds (as the client listener's).
const routeTLSTimeout = 2

// routeTLSOptions makes the cluster's routes mutual TLS, as nats-server's own `cluster
// { tls { cert_file, key_file, ca_file } }` does: client certificates required and
// verified against the CA, and the CA trusted for the servers this one connects to.
// The route URLs stay nats://: a server with route TLS upgrades every route.
func routeTLSOptions(c *server.ClusterOpts, r RouteTLS) error {
	if err := r.Check(); err != nil {
		return err
	}
	cfg, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: r.Cert, KeyFile: r.Key, CaFile: r.CA, Verify: true})
	if err != nil {
		return fmt.Errorf("route TLS: %w", err)
	}
	cfg.RootCAs = cfg.ClientCAs
	c.TLSConfig, c.TLSTimeout = cfg, routeTLSTimeout
	return nil
}
