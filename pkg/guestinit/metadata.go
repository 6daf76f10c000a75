package guestinit

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/vmfleet/vmfleet/pkg/imds"
)

// MetadataAddr is where EC2's instance metadata service answers, and so
// where every SDK and tool written for EC2 looks.
const MetadataAddr = "169.254.169.254"

// listenMetadata opens the metadata server's socket in a network
// namespace of its own (see metadataLink), so that every port on every
// address of the guest's own namespace stays the service's, as on EC2,
// where the metadata service is outside the instance. Nothing in it is
// one instance's, so a template makes it before it is saved and its
// clones restore it made (under TCG it costs a booting guest 0.1-0.2 s).
func listenMetadata(_ context.Context, in *Init) error {
	ln, err := metadataLink{}.listen()
	if err != nil {
		return fmt.Errorf("instance metadata: %w", err)
	}
	in.metadataLn = ln
	return nil
}

// serveMetadata answers http://169.254.169.254/ from what the host handed
// over at boot (or in the wake that took a spare).
func serveMetadata(ctx context.Context, in *Init) error {
	if in.metadataLn == nil {
		return fmt.Errorf("instance metadata: no listener (the isolate metadata step did not run)")
	}
	h, err := imds.NewHandler(in.Config.Metadata, imds.Options{})
	if err != nil {
		return fmt.Errorf("instance metadata: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	go srv.Serve(in.metadataLn)
	return nil
}
