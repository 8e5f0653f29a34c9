package bus

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns their paths
// and a pool that trusts the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, roots *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pingdeck test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	return certFile, keyFile, roots
}

// TestTLSListenerRefusesPlainClients: with a certificate, the listener speaks only TLS;
// pingdeck's own in-process connection still works.
func TestTLSListenerRefusesPlainClients(t *testing.T) {
	certFile, keyFile, roots := selfSigned(t)
	b, _ := open(t, Config{Listen: "127.0.0.1:0", User: "agent", Password: "correct horse battery",
		TLSCert: certFile, TLSKey: keyFile})
	if err := b.Ready(); err != nil {
		t.Fatalf("in-process connection: %v", err)
	}
	url := "nats://" + b.ListenAddr().String()
	auth := nats.UserInfo("agent", "correct horse battery")
	nc, err := nats.Connect(url, auth, nats.Secure(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}), nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatalf("TLS client: %v", err)
	}
	nc.Close()
	if plain, err := nats.Connect(url, auth, nats.Timeout(5*time.Second)); err == nil {
		plain.Close()
		t.Fatal("a plain-text client connected to the TLS listener")
	}
}
