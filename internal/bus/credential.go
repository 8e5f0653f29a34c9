package bus

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// AgentCredential is what an agent needs to connect: its name and location, and the
// seed of its nkey (the private half; the server keeps only the public key).
type AgentCredential struct {
	Name     string
	Location string
	Seed     string
}

// NewAgentCredential makes a fresh nkey for an agent; the public key is what the
// server stores.
func NewAgentCredential(name, location string) (AgentCredential, string, error) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		return AgentCredential{}, "", fmt.Errorf("bus: new agent key: %w", err)
	}
	seed, err := kp.Seed()
	if err != nil {
		return AgentCredential{}, "", fmt.Errorf("bus: new agent key: %w", err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return AgentCredential{}, "", fmt.Errorf("bus: new agent key: %w", err)
	}
	return AgentCredential{Name: name, Location: location, Seed: string(seed)}, pub, nil
}

// Text is the credential file's content.
func (c AgentCredential) Text() string {
	return fmt.Sprintf("# pingdeck agent credential. Keep it secret: it lets its holder probe as this agent.\n"+
		"# Run: pingdeck agent --server nats://<server>:<port> --credentials <this file>\n"+
		"name: %s\nlocation: %s\nseed: %s\n", c.Name, c.Location, c.Seed)
}

// ParseAgentCredential reads a credential file's content.
func ParseAgentCredential(text string) (AgentCredential, error) {
	var c AgentCredential
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			return AgentCredential{}, errors.New("not a pingdeck agent credential: lines must be `key: value`")
		}
		switch value = strings.TrimSpace(value); strings.TrimSpace(key) {
		case "name":
			c.Name = value
		case "location":
			c.Location = value
		case "seed":
			c.Seed = value
		}
	}
	if c.Location == "" || c.Seed == "" {
		return AgentCredential{}, errors.New("not a pingdeck agent credential: it needs a location and a seed")
	}
	if !validToken(c.Location) {
		return AgentCredential{}, fmt.Errorf("credential: location %q cannot be a subject token", c.Location)
	}
	if _, err := nkeys.FromSeed([]byte(c.Seed)); err != nil {
		return AgentCredential{}, fmt.Errorf("credential: seed: %w", err)
	}
	return c, nil
}

// ConnectOptions authenticate with the credential's nkey and read replies on the
// agent's own inbox prefix, the only one its permissions allow.
func (c AgentCredential) ConnectOptions() ([]nats.Option, error) {
	kp, err := nkeys.FromSeed([]byte(c.Seed))
	if err != nil {
		return nil, fmt.Errorf("credential: seed: %w", err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("credential: seed: %w", err)
	}
	sign := func(nonce []byte) ([]byte, error) { return kp.Sign(nonce) }
	return []nats.Option{nats.Nkey(pub, sign), nats.CustomInboxPrefix(AgentInboxPrefix(c.Location))}, nil
}
