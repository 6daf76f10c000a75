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
// where the metadata service is outside the instance. It is part of
// configuring the network, which a standby does before it is taken.
func listenMetadata(_ context.Context, in *Init) error {
	ln, err := metadataLink{}.listen()
	if err != nil {
		return fmt.Errorf("instance metadata: %w", err)
	}
	in.metadataLn = ln
	return nil
}

// serveMetadata answers http://169.254.169.254/ from what the host handed
// over at boot (or in the wake that took a standby).
func serveMetadata(ctx context.Context, in *Init) error {
	if in.metadataLn == nil {
		return fmt.Errorf("instance metadata: no listener (the network was not configured)")
	}
	h, err := imds.NewHandler(in.Config.Metadata, imds.Options{})
	if err != nil {
		return fmt.Errorf("instance metadata: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	go srv.Serve(in.metadataLn)
	return nil
}
