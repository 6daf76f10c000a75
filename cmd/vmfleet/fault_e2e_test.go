package main

// Fault injection on real VMs and the real libvirtd: what each fault does
// is seen from outside (the group's CPU metric, a client's connection,
// the group's health and replacements, libvirtd's process state), and
// each ends.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
)

// homeEvents is the home's activity history, every fleet's and the host's.
func homeEvents(t *testing.T, e *testEnv) []event {
	t.Helper()
	var out []event
	for _, line := range strings.Split(strings.TrimSpace(e.must("events", "--json")), "\n") {
		var ev event
		if json.Unmarshal([]byte(line), &ev) == nil {
			out = append(out, ev)
		}
	}
	return out
}

// homeHasEvent says whether the history has an event of kind whose instance
// is id (any, for "") and whose message holds fragment.
func homeHasEvent(t *testing.T, e *testEnv, kind, id, fragment string) bool {
	t.Helper()
	for _, ev := range homeEvents(t, e) {
		if ev.Kind == kind && (id == "" || ev.Instance == id) && strings.Contains(ev.Message, fragment) {
			return true
		}
	}
	return false
}

// soloCPU is solo/api's CPU metric (percent of the cap, the average
// over its instances in service) in the latest second.
func soloCPU(t *testing.T, e *testEnv) float64 {
	t.Helper()
	r := e.vmfleet("metrics", "solo/api", "--json", "--since", "5s")
	if r.code != 0 {
		return -1 // no sample yet
	}
	var series []api.Series
	jsonDecode(t, r.stdout, &series)
	for _, s := range series {
		if s.Metric == "cpu_percent" && len(s.Points) > 0 {
			return s.Points[len(s.Points)-1].Value
		}
	}
	return -1
}

// An instance takes a cpu fault: its group's CPU metric rises with the
// burn and falls after it. Then a network fault: a client's request to
// it gets no answer, its health checks time out and it is replaced. Its
// replacement takes an unhealthy fault and is replaced in turn; the
// service answers through its balancer all along.
func TestFaultsOnARealInstanceShowFromOutsideAndEnd(t *testing.T) {
	needLibvirt(t)
	e := newTestEnv(t)
	port := freePort(t)
	e.must("up", "-f", writeService(t, port, 1), "-d", "--wait-timeout", "3m")
	in := healthy(e.ps("solo"), "api")
	if len(in) != 1 {
		t.Fatalf("want one instance in service: %+v", e.ps("solo"))
	}
	inst := in[0]

	e.waitFor("a CPU reading", 10*time.Second, func() bool { return soloCPU(t, e) >= 0 })
	idle := soloCPU(t, e)
	e.must("fault", "cpu", inst.ID, "--for", "8s")
	var peak float64
	e.waitFor("the group's CPU metric to rise", 8*time.Second, func() bool { peak = soloCPU(t, e); return peak > 60 })
	e.waitFor("the cpu fault to end", 15*time.Second, func() bool { return homeHasEvent(t, e, "fault", inst.ID, "fault ended: CPU burn stopped") })
	e.waitFor("the group's CPU metric to fall", 15*time.Second, func() bool { return soloCPU(t, e) < 40 })
	t.Logf("cpu: %.0f%% of the cap idle, %.0f%% burning", idle, peak)

	// The network: a request to the instance gets no answer, its health
	// checks time out as an ELB's would, and its group replaces it.
	client := &http.Client{Timeout: 1500 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
	e.must("fault", "network", inst.ID, "--for", "60s")
	if resp, err := client.Get("http://" + inst.Address + "/"); err == nil {
		resp.Body.Close()
		t.Errorf("a request to %s was answered (%s) with its link down", inst.ID, resp.Status)
	}
	e.waitFor("the instance found unhealthy by timeout", 30*time.Second, func() bool {
		return homeHasEvent(t, e, "unhealthy", inst.ID, "timeout")
	})
	next := replaced(t, e, inst.ID, port)
	e.waitFor("the network fault to end with its instance", 10*time.Second, func() bool {
		return homeHasEvent(t, e, "fault", inst.ID, "fault ended: its instance is gone")
	})

	// Failed health checks: the replacement is replaced in turn.
	e.must("fault", "unhealthy", next, "--for", "60s")
	e.waitFor("the instance found unhealthy for the fault", 20*time.Second, func() bool {
		return homeHasEvent(t, e, "unhealthy", next, "fault injected")
	})
	replaced(t, e, next, port)
	e.waitFor("the unhealthy fault to end with its instance", 10*time.Second, func() bool {
		return homeHasEvent(t, e, "fault", next, "fault ended: its instance is gone")
	})
	e.must("down", "--fleet", "solo", "-t", "0s")
}

// replaced waits for a replacement of instance id in service, answering
// through the balancer on port, and returns its id.
func replaced(t *testing.T, e *testEnv, id string, port int) string {
	t.Helper()
	var next string
	e.waitFor("a replacement of "+id+" in service", 2*time.Minute, func() bool {
		in := healthy(e.ps("solo"), "api")
		if len(in) == 1 && in[0].ID != id {
			next = in[0].ID
		}
		return next != ""
	})
	if body, err := fetch(fmt.Sprintf("http://127.0.0.1:%d/", port)); err != nil {
		t.Errorf("the service through its balancer after the replacement: %v (%q)", err, body)
	}
	return next
}

// pidState is a process's state letter from /proc (T: stopped).
func pidState(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return rest[:1]
}

// vmfleet fault libvirtd stops the libvirtd the daemon talks to: ps, ls
// and events answer within a second meanwhile, and libvirtd runs again
// when the fault ends. A daemon killed while it holds libvirtd stopped
// leaves it for the next daemon of its home, which continues it.
func TestALibvirtdFaultStopsLibvirtdWhileTheDaemonAnswers(t *testing.T) {
	needLibvirt(t)
	e := newTestEnv(t)
	pid := libvirtdPID(t)
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) }) // whatever fails below
	info := e.info()

	out := e.must("fault", "libvirtd", "--for", "4s")
	if !strings.HasPrefix(out, "libvirtd until ") {
		t.Errorf("fault libvirtd printed %q", out)
	}
	e.waitFor("libvirtd stopped", 2*time.Second, func() bool { return pidState(t, pid) == "T" })
	for _, args := range [][]string{{"ps"}, {"ls"}, {"events"}} {
		start := time.Now()
		if r := e.vmfleetFor(3*time.Second, args...); r.code != 0 || time.Since(start) > time.Second {
			t.Errorf("%s with libvirtd stopped: exit %d in %s, want 0 within 1s (%s)", args[0], r.code, time.Since(start), r.stderr)
		}
	}
	e.waitFor("libvirtd running again", 10*time.Second, func() bool { return pidState(t, pid) != "T" })
	want := fmt.Sprintf("libvirtd (pid %d)", pid)
	if !homeHasEvent(t, e, "fault", "", "injected: "+want+" stopped for 4s") || !homeHasEvent(t, e, "fault", "", "fault ended: "+want+" continued") {
		t.Errorf("fault activities missing from the events:\n%s", e.must("events"))
	}

	e.must("fault", "libvirtd", "--for", "60s")
	e.waitFor("libvirtd stopped again", 2*time.Second, func() bool { return pidState(t, pid) == "T" })
	if err := syscall.Kill(info.PID, syscall.SIGKILL); err != nil {
		t.Fatalf("kill the daemon: %v", err)
	}
	e.waitFor("the next daemon to continue libvirtd", 30*time.Second, func() bool { return pidState(t, pid) != "T" })
	e.waitFor("the next daemon to answer", 30*time.Second, func() bool { return e.vmfleetFor(5*time.Second, "ps").code == 0 })
	if log := tail(filepath.Join(e.home, "daemon.log"), 200); !strings.Contains(log, "continued the libvirtd an earlier daemon stopped") {
		t.Errorf("the next daemon did not say it continued libvirtd:\n%s", log)
	}
}
