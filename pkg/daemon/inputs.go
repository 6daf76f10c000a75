package daemon

import (
	"os"

	"github.com/vmfleet/vmfleet/images"
	"github.com/vmfleet/vmfleet/pkg/image"
	"github.com/vmfleet/vmfleet/pkg/initbin"
	"github.com/vmfleet/vmfleet/pkg/kernel"
)

// BakeInputs resolves the kernel (images/kernel.json's series, or the
// version asked for, or VMFLEET_KERNEL in the daemon's environment) and
// the guest init (initbin's choice) a bake needs.
func BakeInputs(kernelVersion, initPath string) (image.Inputs, error) {
	def, err := kernel.ParseDefinition(images.KernelJSON)
	if err != nil {
		return image.Inputs{}, err
	}
	sel := kernel.SelectorFromEnv(os.Getenv)
	if kernelVersion != "" {
		sel = kernel.Selector{Version: kernelVersion}
	}
	k, err := kernel.Resolve(def, sel)
	if err != nil {
		return image.Inputs{}, err
	}
	init, err := initbin.Choose(initPath)
	if err != nil {
		return image.Inputs{}, err
	}
	return image.Inputs{Kernel: k, Init: init}, nil
}
