// Package guestlayout is where things are in a guest's initramfs: the bake
// writes them there and the guest's init reads them from there, so both
// take the paths from this one definition.
package guestlayout

const (
	Init        = "/init"                // the program the kernel runs as PID 1
	ModulesDir  = "/lib/modules"         // the .ko files
	ModulesList = "/etc/vmfleet/modules" // their load order, one file name a line
	NewRoot     = "/newroot"             // where init mounts the image's disk
)
