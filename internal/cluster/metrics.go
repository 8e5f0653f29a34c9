package cluster

import "github.com/prometheus/client_golang/prometheus"

// Register exports what this replica holds: pingdeck_cluster_shards_held,
// pingdeck_cluster_replicas (the live replicas that probe, as this one sees them) and
// pingdeck_cluster_task_held{task}.
func (l *Leases) Register(reg prometheus.Registerer) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "pingdeck_cluster_shards_held", Help: "Shards of the local targets this replica probes."},
			func() float64 { return float64(len(l.Shards())) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "pingdeck_cluster_replicas", Help: "Live replicas that probe, as this one sees them (itself included)."},
			func() float64 { return float64(len(l.Members())) }),
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
