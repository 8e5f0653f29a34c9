package cluster

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// SecretBucket holds the secrets every replica must share (the key that signs device
// cookies), so that what one replica signs the others believe.
const SecretBucket = "pingdeck_secrets"

// SharedSecret returns the cluster's secret called name: mine, when no replica stored
// one before (this one stores it), else the one stored first.
func SharedSecret(ctx context.Context, js jetstream.JetStream, replicas int, name string, mine []byte) ([]byte, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      SecretBucket,
		Description: "pingdeck secrets the replicas share",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    max(replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: secret bucket %s: %w", SecretBucket, err)
	}
	if _, err := kv.Create(ctx, name, mine); err == nil {
		return mine, nil
	} else if !errors.Is(err, jetstream.ErrKeyExists) {
		return nil, fmt.Errorf("cluster: store secret %s: %w", name, err)
	}
	e, err := kv.Get(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("cluster: read secret %s: %w", name, err)
	}
	return e.Value(), nil
}
