package client

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/vmfleet/vmfleet/pkg/api"
	"github.com/vmfleet/vmfleet/pkg/fleetfile"
)

// ReadFleet reads a fleet file and every env file it names into an apply
// request, which carries their content: the daemon reads no file of the
// client's. It parses the file here too, so that a bad one fails before
// any daemon is asked (or started).
func ReadFleet(path string) (api.ApplyRequest, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return api.ApplyRequest{}, fmt.Errorf("resolve fleet file path: %w", err)
	}
	files := map[string][]byte{}
	read := func(p string) ([]byte, error) {
		b, err := os.ReadFile(p)
		if err == nil {
			files[p] = b
		}
		return b, err
	}
	if _, err := fleetfile.Load(abs, fleetfile.WithReadFile(read)); err != nil {
		return api.ApplyRequest{}, err
	}
	return api.ApplyRequest{File: abs, Files: files}, nil
}

// FilesOf reads the files an apply request carries, as fleetfile's
// WithReadFile wants: a file the client did not read does not exist.
func FilesOf(req api.ApplyRequest) func(string) ([]byte, error) {
	return func(p string) ([]byte, error) {
		if b, ok := req.Files[p]; ok {
			return b, nil
		}
		return nil, fmt.Errorf("%s: %w (the apply request does not carry it)", p, fs.ErrNotExist)
	}
}
