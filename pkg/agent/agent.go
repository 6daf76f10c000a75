// Package agent is the channel between the daemon and each guest's init:
// one virtio-serial port per instance, multiplexed with yamux, which is
// how Kata and Firecracker-based tools reach into their guests without a
// network path.
//
// Every stream is opened by the host and starts with a one-line JSON
// Header saying what it is for (a guest reaches its dependencies through
// its own network, held by the host's firewall, not through here):
//
//   - OpExec (host to guest): run a command (pkg/guestexec's protocol
//     follows the header);
//   - OpWatch (host to guest): a target's health checks run inside the
//     guest, which reports changes and heartbeats (watch.go);
//   - OpProbe (host to guest): one health check per round trip, for a
//     guest without watches (probe.go);
//   - OpBurn (host to guest): keep the guest's CPUs busy, a fault
//     (burn.go).
package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hashicorp/yamux"
)

// PortName is the virtio-serial port's name, as the guest sees it in
// /sys/class/virtio-ports/*/name.
const PortName = "dev.vmfleet.agent"

// Op says what a stream is for.
type Op string

const (
	OpExec  Op = "exec"
	OpProbe Op = "probe"
)

// Header opens every stream.
type Header struct {
	Op Op `json:"op"`
}

// maxLine bounds a header or reply line: a guest is not trusted.
const maxLine = 4 << 10

func writeHeader(w io.Writer, h Header) error {
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func readHeader(r io.Reader) (Header, error) {
	line, err := readLine(r)
	if err != nil {
		return Header{}, fmt.Errorf("read stream header: %w", err)
	}
	var h Header
	if err := json.Unmarshal([]byte(line), &h); err != nil {
		return Header{}, fmt.Errorf("stream header %q: %w", line, err)
	}
	return h, nil
}

// readLine reads up to a newline one byte at a time: nothing past the
// line may be consumed, because the stream's bytes follow it.
func readLine(r io.Reader) (string, error) {
	var b strings.Builder
	one := make([]byte, 1)
	for b.Len() < maxLine {
		if _, err := io.ReadFull(r, one); err != nil {
			return "", err
		}
		if one[0] == '\n' {
			return b.String(), nil
		}
		b.WriteByte(one[0])
	}
	return "", errors.New("line too long")
}

// reply answers a Dial or Connect: "ok", or the reason it failed.
func reply(w io.Writer, err error) error {
	msg := "ok"
	if err != nil {
		msg = "error: " + strings.ReplaceAll(err.Error(), "\n", " ")
	}
	_, werr := io.WriteString(w, msg+"\n")
	return werr
}

func readReply(r io.Reader) error {
	line, err := readLine(r)
	if err != nil {
		return fmt.Errorf("read reply: %w", err)
	}
	if line == "ok" {
		return nil
	}
	return errors.New(strings.TrimPrefix(line, "error: "))
}

// sessionConfig is yamux's configuration for both ends. Neither sends
// keep-alives: the host learns of a guest that went away from the socket
// (QEMU closes it when the domain stops), the guest of a host that went
// away from the port (a read returns EOF), and a guest that hangs fails
// its health checks; 20 instances' pings were a tenth of an idle
// daemon's wake-ups.
func sessionConfig() *yamux.Config {
	c := yamux.DefaultConfig()
	c.EnableKeepAlive = false
	// An emulated guest can be slow to drain its port.
	c.ConnectionWriteTimeout = 30 * time.Second
	c.StreamOpenTimeout = 30 * time.Second
	c.LogOutput = io.Discard
	return c
}
