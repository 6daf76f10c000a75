package guestinit

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/vmfleet/vmfleet/pkg/agent"
	"github.com/vmfleet/vmfleet/pkg/guestexec"
	"github.com/vmfleet/vmfleet/pkg/guestlayout"
)

// startAgent serves the host's channel: its health checks, exec and
// wakes reach the guest through it.
func startAgent(ctx context.Context, in *Init) error {
	dev, err := agent.FindPort("/sys", agent.PortName)
	if err != nil {
		return fmt.Errorf("%w (is virtio_console loaded?)", err)
	}
	g := &agent.Guest{
		Open: func() (io.ReadWriteCloser, error) { return os.OpenFile(dev, os.O_RDWR, 0) },
		Exec: func(ctx context.Context, conn net.Conn) { serveExec(ctx, in, conn) },
		Log:  in.Console,
		Burn: agent.BurnCPUs,
		SetClock: func(t time.Time) error {
			fmt.Fprintf(in.Console, "vmfleet-init: resumed; the host's clock is %s\n", t.UTC().Format(time.RFC3339Nano))
			return setClock(t)
		},
	}
	in.Agent = g
	go g.Run(ctx)
	return nil
}

// serveExec runs one vmfleet exec command as the service runs: chrooted
// into the image, with its environment and working directory.
func serveExec(ctx context.Context, in *Init, conn net.Conn) {
	c := in.Config
	err := guestexec.Serve(ctx, conn, guestexec.Env{
		Root: guestlayout.NewRoot, BaseEnv: serviceEnv(c), WorkDir: c.WorkDir, Children: in.children,
		LookPath: func(root string, env []string, name string) (string, error) {
			return lookPathIn(root, servicePath(env), name)
		},
	})
	if err != nil {
		fmt.Fprintf(in.Console, "vmfleet-init: exec: %v\n", err)
	}
}
