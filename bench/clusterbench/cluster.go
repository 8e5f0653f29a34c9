//go:build linux

package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"pingdeck/bench/internal/instance"
	"pingdeck/bench/internal/procfs"
)

const adminPassword = "clusterbench-admin"

// replicaCluster is the running replicas.
type replicaCluster struct {
	procs []*instance.Process
	addrs []string
	api   *instance.Client // the admin's, on replica 0
}

// startCluster starts the replicas together (each waits for a quorum of the others'
// NATS servers) and signs in on replica 0.
func startCluster(ctx context.Context, bin, dir string, c config) (*replicaCluster, error) {
	var routes []string
	var lns []net.Listener
	for range c.Replicas {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		routes = append(routes, "nats://"+ln.Addr().String())
	}
	for _, ln := range lns {
		ln.Close()
	}
	cl := &replicaCluster{procs: make([]*instance.Process, c.Replicas), addrs: make([]string, c.Replicas)}
	errs := make([]error, c.Replicas)
	var wg sync.WaitGroup
	for i := range c.Replicas {
		wg.Go(func() {
			cl.procs[i], cl.addrs[i], errs[i] = instance.Start(ctx, instance.Spec{
				Name: fmt.Sprintf("replica %d", i), Bin: bin, LogPath: filepath.Join(dir, fmt.Sprintf("replica%d.log", i)),
				Args: []string{"--listen", "127.0.0.1:0", "--data-dir", filepath.Join(dir, fmt.Sprintf("data%d", i)),
					"--node-name", fmt.Sprintf("bench%d", i), "--nats-cluster-listen", strings.TrimPrefix(routes[i], "nats://"),
					"--nats-routes", strings.Join(routes, ","), "--max-streams-per-user", "100000", "--max-connections-per-ip", "100000",
					"--max-targets-per-user", "1000000", "--max-groups-per-user", "100000"},
				Env: instance.Env(os.Environ(), "PINGDECK_DB="+c.DB, "PINGDECK_ADMIN_PASSWORD="+adminPassword,
					"PINGDECK_ALLOW_TARGETS=127.0.0.0/8", "PINGDECK_NATS_USER=bench", "PINGDECK_NATS_PASSWORD=clusterbench-bus-password"),
				Ready:        func(line string) (string, bool) { return instance.LogField(line, "pingdeck listening", "addr") },
				ReadyTimeout: 3 * time.Minute,
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			cl.stop()
			return nil, fmt.Errorf("replica %d: %w", i, err)
		}
	}
	cl.api = instance.NewClient(cl.addrs[0])
	if err := cl.api.WaitReady(ctx, cl.procs[0], time.Minute); err != nil {
		cl.stop()
		return nil, err
	}
	if err := cl.api.Login(ctx, adminPassword); err != nil {
		cl.stop()
		return nil, err
	}
	return cl, nil
}

// makeGroups makes the public groups of 500 loopback targets, and a viewer account
// the clients sign in as.
func (cl *replicaCluster) makeGroups(ctx context.Context, c config) ([]string, error) {
	gs, err := cl.api.CreateLoopbackGroups(ctx, instance.LoopbackGroups{Name: "bench", N: c.Replicas * c.Targets, PerGroup: 500, Interval: c.Interval})
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, g := range gs {
		if err := cl.api.Call(ctx, "PATCH", "/api/v1/groups/"+g.ID, map[string]string{"visibility": "public"}, 200, nil); err != nil {
			return nil, err
		}
		ids = append(ids, g.ID)
	}
	if err := cl.api.Call(ctx, "POST", "/api/v1/users", map[string]string{"username": "viewer", "password": viewerPassword}, 201, nil); err != nil {
		return nil, err
	}
	return ids, nil
}

// cpu is each replica's CPU time so far.
func (cl *replicaCluster) cpu() []time.Duration {
	out := make([]time.Duration, len(cl.procs))
	for i, p := range cl.procs {
		if p != nil {
			out[i], _ = procfs.CPU(p.PID())
		}
	}
	return out
}

// kill stops replica i as kill -9 does.
func (cl *replicaCluster) kill(i int) {
	syscall.Kill(cl.procs[i].PID(), syscall.SIGKILL)
	<-cl.procs[i].Exited()
	cl.procs[i] = nil
}

func (cl *replicaCluster) stop() {
	var wg sync.WaitGroup
	for _, p := range cl.procs {
		if p != nil {
			wg.Go(func() { p.Stop() })
		}
	}
	wg.Wait()
}
