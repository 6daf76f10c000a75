// Package images holds the definitions vmfleet bakes with: the guest kernel
// every image boots. They are data, embedded so the binary needs no tree.
package images

import _ "embed"

// KernelJSON is the default guest kernel definition (kernel.json).
//
//go:embed kernel.json
var KernelJSON []byte
