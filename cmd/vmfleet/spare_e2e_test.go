package main

import (
	"context"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/hypervisor"
	"github.com/vmfleet/vmfleet/pkg/instance"
)

// sparesOf lists the spare domains libvirt holds for a home.
func sparesOf(t *testing.T, home string) []*instance.Instance {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hv, err := hypervisor.Connect(ctx, hypervisor.ChooseURI("", os.Getenv))
	if err != nil {
		t.Fatal(err)
	}
	defer hv.Close()
	all, err := (&instance.Manager{HV: hv}).Spares(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var mine []*instance.Instance
	for _, i := range all {
		if strings.HasPrefix(i.Dir, home+"/") {
			mine = append(mine, i)
		}
	}
	return mine
}

// A kind of instance run again gets a spare: restored, staged (its own
// disk mounted, its network up) and paused before its last wake, in no
// list but info's. The next run of that kind takes it and is an instance
// like any other: its own env (which only the wake brought), id, name,
// entropy and clock, and the host port it may reach (its network is
// open, held by the firewall). The daemon removes its spares when it
// stops, and those a killed daemon left when it starts again.
func TestAKindRunAgainGetsASpareItsNextRunTakes(t *testing.T) {
	needLibvirt(t)
	e := newTestEnv(t)
	e.env = []string{"VMFLEET_SPARES=2"}
	e.bakeHello()
	oldPort, newPort := newHostServer(t, "the first runs' host port\n"), newHostServer(t, "the third run's host port\n")
	egress := oldPort
	run := func(greeting string) instance.Instance {
		return e.run("hello", "--memory", "128MiB", "--cpu", "0.5", "--env", "GREETING="+greeting,
			"--egress-host-port", strconv.Itoa(egress.port))
	}
	first, second := run("one"), run("two")
	var sb api.Spare
	e.waitFor("a spare made", 2*time.Minute, func() bool {
		for _, s := range e.info().Launch.Spares {
			if s.Instance != "" {
				sb = s
				return true
			}
		}
		return false
	})
	if n := len(e.instances()); n != 2 {
		t.Errorf("ps lists %d instances, want the 2 run (not the spare)", n)
	}
	if st := strings.TrimSpace(tool(t, "virsh", "domstate", "vmfleet-hello-"+sb.Instance)); st != "paused" {
		t.Errorf("spare %s is %q to virsh, want paused", sb.Instance, st)
	}

	before := time.Now()
	egress = newPort // handed over when it is taken
	third := run("three")
	if third.ID != sb.Instance || third.Snapshot == "" {
		t.Fatalf("the third run is %s (snapshot %q), want the spare %s", third.ID, third.Snapshot, sb.Instance)
	}
	if got := strings.TrimSpace(e.get("http://"+third.Address+"/", third)); got != "three from hello instance "+third.ID {
		t.Errorf("the instance made from the spare answers %q", got)
	}
	// Staged as a spare (its disk and network up, its launch paths run
	// once), then named when taken.
	c := console(t, third)
	if !strings.Contains(c, "staged as a spare") || !strings.Contains(c, "warm the launch paths") || !strings.Contains(c, "taken;") {
		t.Errorf("the console of the instance made from a spare does not show it staged, warmed and taken:\n%s", c)
	}
	if strings.Contains(c, "warm:") {
		t.Errorf("warming the spare's launch paths failed:\n%s", c)
	}
	call := func(p int) string {
		return "http://" + third.Address + "/call?url=http://10.0.2.2:" + strconv.Itoa(p) + "/"
	}
	if got := e.get(call(newPort.port), third); got != "the third run's host port\n" {
		t.Errorf("the taken spare reached its host port and read %q", got)
	}
	if resp, err := http.Get(call(oldPort.port)); err != nil || resp.StatusCode != http.StatusBadGateway || oldPort.accepted.Load() != 0 {
		t.Errorf("the taken spare reached the host port of the runs before it: %v %v, %d accepted", resp, err, oldPort.accepted.Load())
	}
	host := "hello-" + strings.TrimPrefix(third.ID, "i-")
	if got := strings.TrimSpace(e.get("http://"+third.Address+"/file?path=/etc/hostname", third)); got != host {
		t.Errorf("/etc/hostname = %q, want %q", got, host)
	}
	if got := e.get("http://"+third.Address+"/file?path=/etc/hosts", third); !strings.Contains(got, "\t"+host+"\n") {
		t.Errorf("/etc/hosts does not name %s: %q", host, got)
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(e.get("http://"+third.Address+"/time", third)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	// It waited paused for seconds: with that clock it would lag.
	if skew := time.Unix(0, ns).Sub(before); skew < -2*time.Second || skew > 10*time.Second {
		t.Errorf("%s's clock is %s off the host's", third.ID, skew)
	}
	uuids := map[string]bool{}
	for _, inst := range []instance.Instance{first, second, third} {
		uuids[strings.TrimSpace(e.get("http://"+inst.Address+"/file?path=/proc/sys/kernel/random/uuid", inst))] = true
	}
	if len(uuids) != 3 {
		t.Errorf("the instances share random numbers: %v", uuids)
	}
	if n := len(e.instances()); n != 3 {
		t.Errorf("ps lists %d instances, want 3", n)
	}

	// The run took the spare; the kind gets its next one.
	e.waitFor("the next spare made", 2*time.Minute, func() bool {
		for _, s := range e.info().Launch.Spares {
			if s.Instance != "" && s.Instance != sb.Instance {
				return true
			}
		}
		return false
	})

	// A daemon killed with its spare: the next one removes it, and the
	// instances run on.
	var info struct {
		PID int `json:"pid"`
	}
	jsonDecode(t, e.must("info", "--json"), &info)
	syscall.Kill(info.PID, syscall.SIGKILL)
	e.waitFor("the killed daemon's spare removed", 2*time.Minute, func() bool {
		return len(sparesOf(t, e.home)) == 0
	})
	for _, inst := range []instance.Instance{first, second, third} {
		e.get("http://"+inst.Address+"/", inst)
	}

	// A daemon stopped with a spare removes it.
	e.must("rm", "-f", first.ID)
	fourth, fifth := run("four"), run("five")
	e.waitFor("a spare made again", 2*time.Minute, func() bool { return len(sparesOf(t, e.home)) == 1 })
	for _, inst := range []instance.Instance{second, third, fourth, fifth} {
		e.must("rm", "-f", inst.ID)
	}
	e.must("daemon", "stop")
	if left := sparesOf(t, e.home); len(left) != 0 {
		t.Errorf("the stopped daemon left spares: %+v", left)
	}
	e.assertNothingLeft()
}
