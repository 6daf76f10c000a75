// Package guestinit is PID 1 inside a vmfleet guest: a short list of plain
// steps that prepare the machine, then a supervisor that runs the service
// and powers the VM off when it ends, so the host sees the instance stop.
package guestinit

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/vmfleet/vmfleet/pkg/agent"
	"github.com/vmfleet/vmfleet/pkg/guestconfig"
)

// Where init finds the image's disk and its config; the initramfs's own
// paths are guestlayout's, shared with the bake.
const (
	RootDevice = "/dev/vda" // the image's disk (virtio-blk)
	configPath = "/sys/firmware/qemu_fw_cfg/by_name/" + guestconfig.FwCfgName + "/raw"
)

// Init carries the state the steps share.
type Init struct {
	Console io.Writer
	Config  *guestconfig.Config
	Agent   *agent.Guest
	// children are exec'd commands, which the reaper leaves alone.
	children *children
	// staged: a spare did the staged steps before it was taken.
	staged bool
	// metadataLn is the metadata server's socket, in its own network
	// namespace (listenMetadata).
	metadataLn net.Listener
}

// step is one thing init does before the service starts.
type step struct {
	name string
	run  func(ctx context.Context, in *Init) error
}

// steps are init's whole boot sequence, in order.
var steps = []step{
	{"mount pseudo filesystems", mountPseudo},
	{"set timer slack", setTimerSlack},
	{"load modules", loadModules},
	{"isolate metadata", listenMetadata},
	{"await clone", awaitClone},
	{"load late modules", unlessStaged(loadLateModules)},
	{"read config", readConfig},
	{"mount root", unlessStaged(mountRoot)},
	{"configure network", unlessStaged(configureNetwork)},
	{"set identity", setIdentity},
	{"start agent", startAgent},
	{"serve metadata", serveMetadata},
}

// staged are the steps a spare takes before it is taken: what its own
// disk and its network (the same for every instance of its kind) allow.
var staged = []step{
	{"load late modules", loadLateModules},
	{"mount root", mountRoot},
	{"configure network", configureNetwork},
	{"read ahead the service", readAhead},
	{"warm the launch paths", warm},
}

// unlessStaged skips a staged step in a spare that took it already.
func unlessStaged(run func(context.Context, *Init) error) func(context.Context, *Init) error {
	return func(ctx context.Context, in *Init) error {
		if in.staged {
			return nil
		}
		return run(ctx, in)
	}
}

// Main is the guest's PID 1, whichever binary carries it (vmfleet-init, or
// vmfleet itself): it boots, supervises the service and powers off. It does
// not return.
func Main() {
	console := os.Stdout
	status := 1
	func() {
		// A panic in PID 1 would panic the kernel; power off cleanly instead
		// so the host sees the instance stop.
		defer func() {
			if r := recover(); r != nil {
				fmt.Fprintf(console, "vmfleet-init: panic: %v\n", r)
			}
		}()
		status = Run(context.Background(), console)
	}()
	PowerOff(console, status)
}

// Run boots the guest and supervises the service. It returns the service's
// exit status; the caller powers off.
func Run(ctx context.Context, console io.Writer) int {
	in := &Init{Console: console, children: newChildren()}
	took, err := runSteps(ctx, in, steps)
	if err != nil {
		fmt.Fprintf(console, "vmfleet-init: %v\n", err)
		return 127
	}
	fmt.Fprintf(console, "vmfleet-init: ready in %s, starting %s instance %s: %q\n",
		took, in.Config.Service, in.Config.InstanceID, in.Config.Command)
	return supervise(ctx, in)
}

// runSteps runs steps in order and says how long they took, in all and
// each; an error names the step that failed.
func runSteps(ctx context.Context, in *Init, steps []step) (string, error) {
	start := time.Now()
	var took []string
	for _, s := range steps {
		t := time.Now()
		if err := s.run(ctx, in); err != nil {
			return "", fmt.Errorf("%s: %w", s.name, err)
		}
		took = append(took, fmt.Sprintf("%s %s", s.name, time.Since(t).Round(time.Millisecond)))
	}
	return fmt.Sprintf("%s (%s)", time.Since(start).Round(time.Millisecond), strings.Join(took, ", ")), nil
}
