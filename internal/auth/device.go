package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"
)

// Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies"): a
// client that signs in gets a signed cookie binding it to that username. When it later
// presents the cookie to sign in to the same account, its attempts are counted against
// that device alone, so failures from elsewhere (an attacker locking the account) do
// not lock it out.
const (
	// DeviceKeySize is the length of the key device cookies are signed with.
	DeviceKeySize = 32
	// defaultDeviceTTL is how long a device stays known after its last sign-in.
	defaultDeviceTTL = 365 * 24 * time.Hour
	// maxDeviceCookieLen bounds what is decoded: a real cookie is about 130 bytes.
	maxDeviceCookieLen = 256
	deviceMACContext   = "pingdeck device cookie v1\x00"
)

// deviceCookies issues and checks device cookies. A cookie is
// base64url(username "|" expiry-unix "|" device-id) "." base64url(HMAC-SHA256).
type deviceCookies struct {
	key []byte
	ttl time.Duration
}

// issue returns a new device cookie for username, valid until now+ttl.
func (d deviceCookies) issue(username string, now time.Time) string {
	payload := username + "|" + strconv.FormatInt(now.Add(d.ttl).Unix(), 10) + "|" + newDeviceID()
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." +
		base64.RawURLEncoding.EncodeToString(d.mac(payload))
}

// check returns the device ID of cookie when it is a device cookie this server signed
// for username and it has not expired at now; otherwise "".
func (d deviceCookies) check(cookie, username string, now time.Time) string {
	if cookie == "" || len(cookie) > maxDeviceCookieLen {
		return ""
	}
	p64, m64, _ := strings.Cut(cookie, ".")
	payload, err1 := base64.RawURLEncoding.Strict().DecodeString(p64)
	mac, err2 := base64.RawURLEncoding.Strict().DecodeString(m64)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, d.mac(string(payload))) {
		return ""
	}
	parts := strings.Split(string(payload), "|")
	if len(parts) != 3 || parts[0] != username || parts[2] == "" {
		return ""
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || now.Unix() >= exp {
		return ""
	}
	return parts[2]
}

func (d deviceCookies) mac(payload string) []byte {
	m := hmac.New(sha256.New, d.key)
	m.Write([]byte(deviceMACContext))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// newDeviceID returns 16 random bytes, URL-safe encoded (22 characters).
func newDeviceID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func newDeviceKey() []byte {
	b := make([]byte, DeviceKeySize)
	_, _ = rand.Read(b)
	return b
}

// LoadDeviceKey reads the key device cookies are signed with from path, creating the
// file (mode 0600) with a new random key if there is none, so devices stay known across
// restarts. Deleting the file makes every device unknown again.
func LoadDeviceKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key = newDeviceKey()
		f, cerr := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(cerr, fs.ErrExist) {
			return LoadDeviceKey(path) // another process made it first
		}
		if cerr != nil {
			return nil, fmt.Errorf("auth: create device key: %w", cerr)
		}
		_, werr := f.Write(key)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return nil, fmt.Errorf("auth: write device key %s: %w", path, werr)
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("auth: read device key: %w", err)
	}
	if len(key) != DeviceKeySize {
		return nil, fmt.Errorf("auth: device key %s has %d bytes, want %d (delete it to make a new one; signed-in devices then count as unknown once)", path, len(key), DeviceKeySize)
	}
	return key, nil
}
