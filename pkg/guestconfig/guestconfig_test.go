package guestconfig

import (
	"slices"
	"testing"
	"time"
)

func TestConfigSurvivesTheTripToTheGuest(t *testing.T) {
	in := Config{Service: "hello", InstanceID: "i-0123", Hostname: "hello-i-0123", Command: []string{"/app/hello", "-listen", ":8080"},
		Env: []string{"A=1", "B=two words"}, StopTimeout: Duration(7 * time.Second), Network: UserNetwork}
	b, err := in.Encode()
	if err != nil {
		t.Fatal(err)
	}
	out, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out.Command, in.Command) || !slices.Equal(out.Env, in.Env) || out.StopTimeout != in.StopTimeout || out.Network != in.Network {
		t.Errorf("round trip changed the config: %+v", out)
	}
}

func TestConfigWithoutCommandIsRefused(t *testing.T) {
	c := Config{Service: "s", InstanceID: "i"}
	if _, err := c.Encode(); err == nil {
		t.Fatal("encoded a config with no command")
	}
	if _, err := Decode([]byte(`{"service":"s","instance_id":"i"}`)); err == nil {
		t.Fatal("decoded a config with no command")
	}
}
