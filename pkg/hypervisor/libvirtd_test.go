package hypervisor

import (
	"context"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// A link goes down through QMP's set_link on the netdev, whose NIC peer
// follows; QEMU's refusal comes back as the error.
func TestSetLinkSendsSetLinkForTheNetdev(t *testing.T) {
	r := &recorder{}
	if err := setLink(r, false); err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{{"execute": "set_link", "arguments": map[string]any{"name": NetdevID, "up": false}}}
	if !reflect.DeepEqual(r.sent, want) {
		t.Errorf("sent %v\nwant %v", r.sent, want)
	}
	r = &recorder{reply: func(string) string {
		return `{"error":{"class":"DeviceNotFound","desc":"Device 'vmfnet0' not found"}}`
	}}
	if err := setLink(r, true); err == nil || !strings.Contains(err.Error(), "Device 'vmfnet0' not found") {
		t.Errorf("set_link refused: %v, want QEMU's error", err)
	}
}

// A session or remote libvirtd is no process of this host's to stop.
func TestLibvirtdPIDRefusesASessionOrRemoteLibvirtd(t *testing.T) {
	for uri, want := range map[string]string{
		"qemu:///session":                "session daemon",
		"qemu+ssh://host.example/system": "over the network",
	} {
		u, _ := url.Parse(uri)
		if _, err := (&Libvirt{uri: u}).LibvirtdPID(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v; want an error about a %s", uri, err, want)
		}
	}
}

// The system libvirtd, where one runs, is found as the peer of the
// connection's socket.
func TestLibvirtdPIDIsTheLibvirtdAtTheOtherEndOfTheSocket(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h, err := Connect(ctx, DefaultURI)
	if err != nil {
		t.Skipf("no libvirtd: %v", err)
	}
	defer h.Close()
	pid, err := h.LibvirtdPID()
	if err != nil || !IsLibvirtd(pid) {
		t.Fatalf("pid %d, %v; want a running libvirt daemon", pid, err)
	}
	if peerPID(h.raw.conn) != pid {
		t.Logf("the socket's peer is not libvirtd (socket activation?); found %d from its pid file", pid)
	}
	if IsLibvirtd(os.Getpid()) || IsLibvirtd(1) {
		t.Error("IsLibvirtd took the test or init for libvirtd")
	}
}
