package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
)

// durableFleet is db, and web: it depends on db, reaches one host port,
// has user data and a running warm pool of poolMin.
func durableFleet(tarball string, hostPort int, userData string, poolMin int) string {
	return fmt.Sprintf(`name: dur
time_scale: 0.1
services:
  db:
    image: {rootfs: %[1]s}
    command: [/bin/busybox, httpd, -f, -p, "8080", -h, /www]
    port: 8080
    memory: 128MiB
    health: {type: tcp, interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2}
  web:
    image: {rootfs: %[1]s}
    command: [/bin/busybox, httpd, -f, -p, "8080", -h, /www]
    port: 8080
    memory: 128MiB
    depends_on: [db]
    egress: {host_ports: [%[2]d]}
    user_data: %[3]q
    scaling: {min: 1, max: 3}
    warm_pool: {min_size: %[4]d, max_group_prepared_capacity: 0, pool_state: running}
    health: {type: tcp, interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2}
`, tarball, hostPort, userData, poolMin)
}

// warmReady is how many of a service's warm pool instances are ready.
func (e *testEnv) warmReady(fleet, service string) int {
	var list []api.FleetSummary
	if err := json.Unmarshal([]byte(e.must("ls", "--json")), &list); err != nil {
		e.t.Fatal(err)
	}
	for _, f := range list {
		for _, s := range f.Services {
			if f.Name == fleet && s.Name == service {
				return s.Warm
			}
		}
	}
	return -1
}

// inService is a service's instances in service, by ps.
func inService(rows []psEntry, service string) []psEntry {
	var out []psEntry
	for _, r := range healthy(rows, service) {
		if r.Phase == api.InService {
			out = append(out, r)
		}
	}
	return out
}

func ids(rows []psEntry) []string { return column(rows, func(r psEntry) string { return r.ID }) }

// A restart (crash, upgrade, stop) loses nothing that was applied: the
// stored resources carry egress, user data and the warm pool, so the next
// daemon replaces no instance and empties no pool. An edit to any of them
// shows in diff and is made by up.
func TestADaemonRestartKeepsEgressUserDataAndWarmPoolsAndUpAppliesTheirEdits(t *testing.T) {
	needLibvirt(t)
	e := newTestEnv(t)
	allowed := newHostServer(t, "a host database web opted into\n")
	tarball := busyboxTar(t, "the db's page\n")
	file := fleetFile(t, durableFleet(tarball, allowed.port, "first user data", 1))
	e.must("up", "-f", file, "--detach", "--wait-timeout", "4m")
	e.waitFor("the warm pool's instance", 3*time.Minute, func() bool { return e.warmReady("dur", "web") == 1 })
	userData := func(id string) string {
		r := e.inGuest(id, "busybox wget -q -O - http://169.254.169.254/latest/user-data")
		return r.stdout
	}
	before := e.ps("dur")
	web := inService(before, "web")
	if len(web) != 1 || userData(web[0].ID) != "first user data" {
		t.Fatalf("want one web in service reading its user data: %+v", before)
	}

	e.must("daemon", "stop")
	e.waitFor("the next daemon to take the fleet back", 2*time.Minute, func() bool {
		return len(inService(e.ps("dur"), "web")) == 1 && e.warmReady("dur", "web") == 1
	})
	// A service the next daemon took for changed rolls at once: its
	// replacement launches as the controller starts. Give it the time a
	// launch takes to show.
	time.Sleep(10 * time.Second)
	after := e.ps("dur")
	if !slices.Equal(ids(before), ids(after)) {
		t.Fatalf("instances replaced across the restart:\nbefore %v\nafter  %v", ids(before), ids(after))
	}
	if got := userData(web[0].ID); got != "first user data" {
		t.Errorf("user data after the restart: %q", got)
	}
	dep := e.inGuest(web[0].ID, "busybox wget -q -O - http://$DB_ADDR/index.html")
	host := e.inGuest(web[0].ID, fmt.Sprintf("busybox wget -q -O - http://10.0.2.2:%d/", allowed.port))
	if !strings.Contains(dep.stdout, "the db's page") || !strings.Contains(host.stdout, "web opted into") {
		t.Errorf("after the restart web reads %q from its dependency and %q from its host port", dep.stdout, host.stdout)
	}

	if err := os.WriteFile(file, []byte(durableFleet(tarball, allowed.port, "second user data", 2)), 0o644); err != nil {
		t.Fatal(err)
	}
	plan := e.must("diff", "-f", file)
	for _, want := range []string{"~ launch-template dur-web: user_data changed (rolls", "~ group dur-web: warm_pool.min_size 1 -> 2"} {
		if !strings.Contains(plan, want) {
			t.Errorf("diff does not say %q:\n%s", want, plan)
		}
	}
	e.must("up", "-f", file, "--detach", "--wait-timeout", "4m")
	e.waitFor("web rolled and its pool grown", 4*time.Minute, func() bool {
		w := inService(e.ps("dur"), "web")
		return len(w) == 1 && w[0].ID != web[0].ID && e.warmReady("dur", "web") == 2
	})
	if got := userData(inService(e.ps("dur"), "web")[0].ID); got != "second user data" {
		t.Errorf("the rolled instance reads user data %q", got)
	}
	e.must("down", "-f", file, "-t", "0s")
	e.assertNothingLeft()
}
