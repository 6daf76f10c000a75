package daemon

import (
	"io/fs"
	"slices"
	"testing"

	"github.com/vmfleet/vmfleet/pkg/fleetfile"
)

const base = `name: shop
services:
  web:
    image: {binary: ./web}
    command: [/app/web]
    port: 8080
`

func parsed(t *testing.T, yaml string) *fleetfile.Fleet {
	t.Helper()
	f, err := fleetfile.Parse("/x/fleet.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// An env file's variables reach the image recipe as env's do, so a change
// to the file changes the image digest (image's digest tests cover Env)
// and the next up rolls the group.
func TestAnEnvFilesContentReachesTheImageRecipe(t *testing.T) {
	content := "A=1\n"
	read := func(path string) ([]byte, error) {
		if path != "/x/web.env" {
			return nil, fs.ErrNotExist
		}
		return []byte(content), nil
	}
	recipeEnv := func() []string {
		f, err := fleetfile.Parse("/x/fleet.yaml", []byte(base+"    env_file: web.env\n    env: {B: 2}\n"), fleetfile.WithReadFile(read))
		if err != nil {
			t.Fatal(err)
		}
		return recipe(f, f.Service("web")).Env
	}
	if got, want := recipeEnv(), []string{"A=1", "B=2"}; !slices.Equal(got, want) {
		t.Errorf("recipe env %q, want %q", got, want)
	}
	content = "A=changed\n"
	if got, want := recipeEnv(), []string{"A=changed", "B=2"}; !slices.Equal(got, want) {
		t.Errorf("after the env file changed: recipe env %q, want %q", got, want)
	}
}
