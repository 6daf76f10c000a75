package instance

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestAnInstanceWithInternetBootsOnlyOnceTheHostsLoopbackIsGuarded(t *testing.T) {
	m, f := newManager(t)
	guarded := 0
	m.Firewall = func(context.Context) error { guarded++; return nil }
	launch(t, m, Options{Image: testImage(t)})
	if guarded != 0 {
		t.Fatalf("a restricted instance called the firewall %d times", guarded)
	}
	launch(t, m, Options{Image: testImage(t), Internet: true})
	if guarded != 1 {
		t.Fatalf("an instance with internet called the firewall %d times, want once before it booted", guarded)
	}

	m, f = newManager(t)
	m.Firewall = func(context.Context) error { return errors.New(`exec: "iptables": executable file not found in $PATH`) }
	_, err := m.Launch(context.Background(), Options{Image: testImage(t), Internet: true})
	if err == nil || !Permanent(err) || !strings.Contains(err.Error(), "egress.internet") || !strings.Contains(err.Error(), "iptables") {
		t.Fatalf("launch without a guard: %v, want a permanent error naming egress.internet and the cause", err)
	}
	assertNothingLeft(t, m, f)
}
