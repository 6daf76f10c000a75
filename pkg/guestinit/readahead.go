package guestinit

import (
	"context"
	"io"
	"os"
	"path/filepath"

	"github.com/vmfleet/vmfleet/pkg/guestlayout"
)

// readAhead reads the service's executable into the page cache: a spare
// does it while staged (its stand-in config names the same command), so
// the service it starts once taken finds its pages in memory, not on its
// disk. It is only a head start: what it cannot find or read, the
// service's own start reports.
func readAhead(_ context.Context, in *Init) error {
	c := in.Config
	if len(c.Command) == 0 {
		return nil
	}
	p, err := lookPathIn(guestlayout.NewRoot, servicePath(serviceEnv(c)), c.Command[0])
	if err != nil {
		return nil
	}
	f, err := os.Open(filepath.Join(guestlayout.NewRoot, p))
	if err != nil {
		return nil
	}
	defer f.Close()
	_, _ = io.Copy(io.Discard, f)
	return nil
}
