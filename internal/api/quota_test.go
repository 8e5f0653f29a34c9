package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"pingdeck/internal/groups"
)

// reply is one answer to a request sent from a goroutine other than the test's.
type reply struct {
	status int
	body   []byte
	err    error
}

// send is do for goroutines: it reports failures instead of stopping the test.
func (c *client) send(method, path string, body any) reply {
	raw, err := json.Marshal(body)
	if err != nil {
		return reply{err: err}
	}
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(raw))
	if err != nil {
		return reply{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return reply{err: err}
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, body: got, err: err}
}

// inParallel sends n requests at once (request i from req(i)) and returns the answers,
// failing the test if any could not be sent.
func inParallel(t *testing.T, n int, req func(i int) reply) []reply {
	t.Helper()
	out := make([]reply, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			out[i] = req(i)
		})
	}
	close(start)
	wg.Wait()
	for i, r := range out {
		if r.err != nil {
			t.Fatalf("request %d: %v", i, r.err)
		}
	}
	return out
}

// addresses are n distinct IPv4 addresses, unique to k.
func addresses(k, n int) []string {
	out := make([]string, n)
	for j := range out {
		out[j] = fmt.Sprintf("10.%d.%d.%d", k/256, k%256, j+1)
	}
	return out
}

// ownedTargets counts the targets in every group u owns, as GET /groups reports them.
func ownedTargets(t *testing.T, u *client) (groupCount, targetCount int) {
	t.Helper()
	var list groupList
	u.mustJSON("GET", "/api/v1/groups", nil, 200, &list)
	for _, g := range list.Groups {
		if g.Role == "owner" {
			groupCount++
			targetCount += g.TargetCount
		}
	}
	return groupCount, targetCount
}

// Forty parallel requests of 25 targets each against a quota of 500: the owner ends
// with exactly 500, and exactly the twenty requests that fit get all of theirs, for
// every path that adds targets (new group, client-chosen UUID, adding to a group).
func TestTargetQuotaHoldsUnderParallelRequests(t *testing.T) {
	const quota, requests, each = 500, 40, 25
	o := options{limits: func(l *groups.Limits) { l.MaxTargetsPerUser, l.MaxGroupsPerUser = quota, 1000 }}
	eachEnv(t, o, func(t *testing.T, e *env) {
		paths := []struct {
			name string
			send func(u *client, i int, shared string) reply
		}{
			{"POST /groups", func(u *client, i int, _ string) reply {
				return u.send("POST", "/api/v1/groups", map[string]any{"name": fmt.Sprint("g", i), "targets": addresses(i, each)})
			}},
			{"PUT /groups/{id}", func(u *client, i int, _ string) reply {
				return u.send("PUT", "/api/v1/groups/"+uuid.NewString(), map[string]any{"name": fmt.Sprint("g", i), "targets": addresses(i, each)})
			}},
			{"POST /groups/{id}/targets", func(u *client, i int, shared string) reply {
				return u.send("POST", "/api/v1/groups/"+shared+"/targets", map[string]any{"targets": addresses(i, each)})
			}},
		}
		for n, p := range paths {
			t.Run(p.name, func(t *testing.T) {
				u := e.user(fmt.Sprint("user", n)).in(t)
				var shared group
				u.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "shared"}, 201, &shared)
				replies := inParallel(t, requests, func(i int) reply { return p.send(u, i, shared.ID) })
				full, empty := 0, 0
				for i, r := range replies {
					if r.status != 200 && r.status != 201 {
						t.Fatalf("request %d: %d %s", i, r.status, r.body)
					}
					var res struct {
						Targets []target  `json:"targets"`
						Added   []target  `json:"added"`
						Skipped []skipped `json:"skipped"`
					}
					if err := json.Unmarshal(r.body, &res); err != nil {
						t.Fatalf("request %d: %v in %s", i, err, r.body)
					}
					got := len(res.Targets) + len(res.Added)
					switch {
					case got == each && len(res.Skipped) == 0:
						full++
					case got == 0 && len(res.Skipped) == each && strings.Contains(res.Skipped[0].Reason, "--max-targets-per-user"):
						empty++
					default:
						t.Errorf("request %d: %d targets stored, skipped %+v; want all %d or none (quota)", i, got, res.Skipped, each)
					}
				}
				if _, total := ownedTargets(t, u); total != quota || full != quota/each || empty != requests-quota/each {
					t.Fatalf("owner has %d targets (quota %d); %d requests stored all, %d none; want %d and %d",
						total, quota, full, empty, quota/each, requests-quota/each)
				}
			})
		}
	})
}

// Forty parallel new groups against --max-groups-per-user=10: exactly ten are created,
// the rest are refused with a quota error naming the flag; a repeated PUT of an
// existing group is not a new one.
func TestGroupQuotaHoldsUnderParallelRequests(t *testing.T) {
	const quota, requests = 10, 40
	o := options{limits: func(l *groups.Limits) { l.MaxGroupsPerUser = quota }}
	eachEnv(t, o, func(t *testing.T, e *env) {
		alice := e.user("alice")
		ids := make([]string, requests)
		for i := range ids {
			ids[i] = uuid.NewString()
		}
		replies := inParallel(t, requests, func(i int) reply {
			if i%2 == 0 {
				return alice.send("POST", "/api/v1/groups", map[string]any{"name": fmt.Sprint("g", i)})
			}
			return alice.send("PUT", "/api/v1/groups/"+ids[i], map[string]any{"name": fmt.Sprint("g", i)})
		})
		created, refused := 0, 0
		var put string // one group created by PUT, to repeat
		for i, r := range replies {
			switch r.status {
			case 201:
				created++
				if i%2 == 1 {
					put = ids[i]
				}
			case 403:
				var e apiError
				if err := json.Unmarshal(r.body, &e); err != nil || e.Error.Code != "quota_exceeded" ||
					!strings.Contains(e.Error.Message, "--max-groups-per-user") || e.Error.Details["limit"] != float64(quota) {
					t.Fatalf("request %d refused with %s; want quota_exceeded naming --max-groups-per-user and the limit", i, r.body)
				}
				refused++
			default:
				t.Fatalf("request %d: %d %s", i, r.status, r.body)
			}
		}
		if n, _ := ownedTargets(t, alice); n != quota || created != quota || refused != requests-quota {
			t.Fatalf("alice owns %d groups (quota %d); %d created, %d refused", n, quota, created, refused)
		}
		if put != "" {
			alice.mustJSON("PUT", "/api/v1/groups/"+put, map[string]any{"name": "again"}, 200, nil)
		}
		alice.mustError("POST", "/api/v1/groups", map[string]any{"name": "one more"}, 403, "quota_exceeded", "")
		// The limit is per user: bob still has all of his.
		e.user("bob").mustJSON("POST", "/api/v1/groups", map[string]any{"name": "b"}, 201, nil)
	})
}
