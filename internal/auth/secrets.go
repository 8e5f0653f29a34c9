package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// TokenPrefix marks pingdeck API tokens so they are recognisable in logs and secret scanners.
const TokenPrefix = "pdk_"

// newSecret returns 32 random bytes, URL-safe encoded.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// newPassword returns a random password that is easy to copy from a terminal.
func newPassword() string {
	b := make([]byte, 15)
	_, _ = rand.Read(b)
	return strings.ToLower(base32.StdEncoding.EncodeToString(b))
}

// hashSecret is how session and API tokens are stored: high-entropy secrets need no
// slow hash, only one that cannot be reversed.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
