package controller

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestWriteStateReplacesTheStateThatReadStateReads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "fleets", "f")
	if s, err := ReadState(dir); err != nil || !reflect.DeepEqual(s, &State{}) {
		t.Fatalf("ReadState of no state: %+v, %v", s, err)
	}
	for _, want := range []*State{
		{Fleet: "f", File: "/a/fleet.yaml", Listen: map[string]string{"api": "127.0.0.1:8080"}, Desired: map[string]int{"api": 3}},
		{Fleet: "f", File: "/a/fleet.yaml", Listen: map[string]string{"api": "127.0.0.1:8080"}, Protected: map[string][]string{"api": {"i-1"}}},
	} {
		if err := WriteState(dir, want); err != nil {
			t.Fatal(err)
		}
		got, err := ReadState(dir)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ReadState: %+v, want %+v", got, want)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "state.json" {
		t.Errorf("the state dir holds %v, want state.json alone", entries)
	}
	if fi, err := os.Stat(filepath.Join(dir, "state.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("state.json: %v, %v; want mode 0600", fi, err)
	}
}
