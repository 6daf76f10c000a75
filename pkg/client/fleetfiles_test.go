package client

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/vmfleet/vmfleet/pkg/fleetfile"
)

// An apply carries the fleet file and its env files: the daemon parses
// the same fleet from the request with the files gone from the disk.
func TestAnApplyRequestCarriesTheFleetFileAndItsEnvFiles(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "fleet.yaml")
	os.WriteFile(filepath.Join(dir, "web.env"), []byte("GREETING=hi\n"), 0o644)
	os.WriteFile(file, []byte(`name: shop
services:
  web:
    image: {binary: ./web}
    command: [/app/web]
    port: 8080
    env_file: [web.env, {path: missing.env, required: false}]
`), 0o644)
	req, err := ReadFleet(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(req.Files) != 2 || req.File != file {
		t.Fatalf("request carries %d files for %s, want the fleet file and web.env", len(req.Files), req.File)
	}
	want, err := fleetfile.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(dir)
	got, err := fleetfile.Load(req.File, fleetfile.WithReadFile(FilesOf(req)))
	if err != nil {
		t.Fatalf("parse from the request: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("from the request %+v, from the disk %+v", got, want)
	}
}

func TestABadFleetFileFailsBeforeTheDaemonIsAsked(t *testing.T) {
	file := filepath.Join(t.TempDir(), "fleet.yaml")
	os.WriteFile(file, []byte("services: {web: {port: 0}}\n"), 0o644)
	if _, err := ReadFleet(file); err == nil {
		t.Fatal("a bad fleet file made an apply request")
	}
}
