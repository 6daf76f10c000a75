package guestinit

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"

	"github.com/vmfleet/vmfleet/pkg/agent"
)

// startAgent serves the host's channel (its health checks and exec reach
// the guest through it) and the listeners by which the service reaches
// the host ports it may: each connection to Gateway:PORT is carried to
// the host's 127.0.0.1:PORT, where the host decides whether to allow it.
func startAgent(ctx context.Context, in *Init) error {
	dev, err := agent.FindPort("/sys", agent.PortName)
	if err != nil {
		return fmt.Errorf("%w (is virtio_console loaded?)", err)
	}
	g := &agent.Guest{
		Open: func() (io.ReadWriteCloser, error) { return os.OpenFile(dev, os.O_RDWR, 0) },
		Log:  in.Console,
	}
	in.Agent = g
	go g.Run(ctx)
	for _, port := range in.Config.HostPorts {
		addr := net.JoinHostPort(in.Config.Network.Gateway, strconv.Itoa(port))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("listen on %s for the host: %w", addr, err)
		}
		go g.Forward(ctx, ln, port)
	}
	return nil
}
