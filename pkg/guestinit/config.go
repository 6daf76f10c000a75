package guestinit

import (
	"context"
	"fmt"
	"os"

	"github.com/vmfleet/vmfleet/pkg/guestconfig"
)

// readConfig reads what the host handed over through fw_cfg, unless a
// clone's wake brought it.
func readConfig(_ context.Context, in *Init) error {
	if in.Config != nil {
		return nil
	}
	b, err := os.ReadFile(configPath)
	if err != nil {
		return fmt.Errorf("%w (the host passes it as fw_cfg %s)", err, guestconfig.FwCfgName)
	}
	c, err := guestconfig.Decode(b)
	if err != nil {
		return err
	}
	in.Config = c
	return nil
}
