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

// serveMetadata answers http://169.254.169.254/ from inside the guest
// (its address is on lo), from what the host handed over at boot.
func serveMetadata(ctx context.Context, in *Init) error {
	h, err := imds.NewHandler(in.Config.Metadata, imds.Options{})
	if err != nil {
		return fmt.Errorf("instance metadata: %w", err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(MetadataAddr, "80"))
	if err != nil {
		return fmt.Errorf("instance metadata: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	go srv.Serve(ln)
	return nil
}
