package cluster

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Register exports what this replica holds: pingdeck_cluster_shards_held,
// pingdeck_cluster_replicas (the live replicas that probe, as this one sees them),
// pingdeck_cluster_task_held{task} and pingdeck_cluster_leases_leader.
func (l *Leases) Register(reg prometheus.Registerer) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "pingdeck_cluster_shards_held", Help: "Shards of the local targets this replica probes."},
			func() float64 { return float64(len(l.Shards())) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "pingdeck_cluster_replicas", Help: "Live replicas that probe, as this one sees them (itself included)."},
			func() float64 { return float64(len(l.Members())) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "pingdeck_cluster_leases_leader",
			Help: "1 when this replica's NATS server leads the lease bucket (its death makes JetStream elect another, 4-9 s)."},
			func() float64 {
				if l.leadsBucket() {
					return 1
				}
				return 0
			}),
	)
	for _, task := range l.opt.Tasks {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "pingdeck_cluster_task_held",
			Help: "1 when this replica holds the task's lease (runs it).", ConstLabels: prometheus.Labels{"task": task}},
			func() float64 {
				if l.Holds(task) {
					return 1
				}
				return 0
			}))
	}
}

// leadsBucket reports whether the lease bucket's stream is led by the NATS server
// named as this replica (an embedded server takes the replica's name).
func (l *Leases) leadsBucket() bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	st, err := l.kv.Status(ctx)
	if err != nil {
		return false
	}
	kvs, ok := st.(*jetstream.KeyValueBucketStatus)
	if !ok || kvs.StreamInfo() == nil || kvs.StreamInfo().Cluster == nil {
		return false
	}
	return kvs.StreamInfo().Cluster.Leader == l.opt.Node
}
