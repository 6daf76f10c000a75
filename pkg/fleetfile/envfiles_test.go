package fleetfile_test

import (
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vmfleet/vmfleet/pkg/fleetfile"
)

// disk is a fake file system for env files: path to content. It records
// the paths read, in order.
type disk struct {
	files map[string]string
	read  []string
}

func (d *disk) readFile(path string) ([]byte, error) {
	d.read = append(d.read, path)
	if path == "shop/unreadable.env" {
		return nil, fs.ErrPermission
	}
	s, ok := d.files[path]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
	}
	return []byte(s), nil
}

// shellEnv is the parsing process's environment in these tests.
func shellEnv(k string) (string, bool) {
	if k == "FROM_SHELL" {
		return "shell value", true
	}
	return "", false
}

// webWith is a one-service fleet with extra service lines.
func webWith(lines string) string {
	return "services:\n  web:\n    image: {binary: ./web}\n    command: [/web]\n    port: 8080\n" + lines
}

func parseWith(d *disk, yaml string) (*fleetfile.Fleet, error) {
	return fleetfile.Parse("shop/fleet.yaml", []byte(yaml), fleetfile.WithReadFile(d.readFile), fleetfile.WithLookupEnv(shellEnv))
}

func webEnv(t *testing.T, d *disk, lines string) map[string]string {
	t.Helper()
	f, err := parseWith(d, webWith(lines))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return f.Service("web").Env
}

func TestEnvFileIsReadInEveryFormComposeAllows(t *testing.T) {
	files := map[string]string{"shop/a.env": "A=1\n", "shop/conf/b.env": "B=2\n", "/etc/shop/c.env": "C=3\n"}
	for _, tc := range []struct {
		name, lines string
		want        map[string]string
	}{
		{"one file", "    env_file: a.env\n", map[string]string{"A": "1"}},
		{"a list", "    env_file: [a.env, ./conf/b.env]\n", map[string]string{"A": "1", "B": "2"}},
		{"long form", "    env_file:\n      - path: conf/b.env\n        required: true\n", map[string]string{"B": "2"}},
		{"mixed", "    env_file: [a.env, {path: /etc/shop/c.env}]\n", map[string]string{"A": "1", "C": "3"}},
		{"an empty list", "    env_file: []\n", map[string]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := webEnv(t, &disk{files: files}, tc.lines); !maps.Equal(got, tc.want) {
				t.Errorf("env %q, want %q", got, tc.want)
			}
		})
	}
}

func TestEnvFilePathsAreRelativeToTheFleetFilesDirectory(t *testing.T) {
	d := &disk{files: map[string]string{"shop/a.env": "", "shop/conf/b.env": "", "/abs/c.env": ""}}
	webEnv(t, d, "    env_file: [a.env, ./conf/../conf/b.env, /abs/c.env]\n")
	if want := []string{"shop/a.env", "shop/conf/b.env", "/abs/c.env"}; !slices.Equal(d.read, want) {
		t.Errorf("read %q, want %q", d.read, want)
	}
}

func TestLaterEnvFilesOverrideEarlierOnesAndEnvOverridesThemAll(t *testing.T) {
	d := &disk{files: map[string]string{
		"shop/base.env":   "LEVEL=debug\nREGION=eu\nNAME=base\n",
		"shop/prod.env":   "LEVEL=warn\nNAME=prod\n",
		"shop/unused.env": "",
	}}
	got := webEnv(t, d, "    env_file: [base.env, prod.env]\n    env: {NAME: web}\n")
	if want := map[string]string{"LEVEL": "warn", "REGION": "eu", "NAME": "web"}; !maps.Equal(got, want) {
		t.Errorf("env %q, want %q", got, want)
	}
}

func TestAnOptionalEnvFileMayBeMissing(t *testing.T) {
	d := &disk{files: map[string]string{"shop/a.env": "A=1\n"}}
	got := webEnv(t, d, "    env_file: [a.env, {path: local.env, required: false}]\n")
	if want := map[string]string{"A": "1"}; !maps.Equal(got, want) {
		t.Errorf("env %q, want %q", got, want)
	}
}

func TestABareKeyInAnEnvFileComesFromTheParsersEnvironment(t *testing.T) {
	d := &disk{files: map[string]string{"shop/a.env": "FROM_SHELL\nNOT_IN_SHELL\n"}}
	got := webEnv(t, d, "    env_file: a.env\n")
	if want := map[string]string{"FROM_SHELL": "shell value"}; !maps.Equal(got, want) {
		t.Errorf("env %q, want %q", got, want)
	}
}

func TestAChangedEnvFileChangesTheServicesEnv(t *testing.T) {
	// The env reaches the image recipe and so its digest; a new digest
	// rolls the group on the next up (see package daemon).
	d := &disk{files: map[string]string{"shop/a.env": "A=1\n"}}
	before := webEnv(t, d, "    env_file: a.env\n")
	d.files["shop/a.env"] = "A=2\n"
	if after := webEnv(t, d, "    env_file: a.env\n"); maps.Equal(before, after) {
		t.Errorf("env stayed %q after the env file changed", after)
	}
}

func TestEnvFileMistakesAreReportedAtTheirLineInTheFleetFile(t *testing.T) {
	for _, tc := range []struct {
		name, lines, want string
	}{
		{"a missing file", "    env_file: missing.env\n",
			"shop/fleet.yaml:6: services.web.env_file: env file shop/missing.env does not exist; create it, or write {path: missing.env, required: false} to make it optional"},
		{"a missing file in a list", "    env_file:\n      - a.env\n      - missing.env\n",
			"shop/fleet.yaml:8: services.web.env_file[1]: env file shop/missing.env does not exist; create it, or write {path: missing.env, required: false} to make it optional"},
		{"a missing file in the long form", "    env_file:\n      - path: missing.env\n",
			"shop/fleet.yaml:7: services.web.env_file[0].path: env file shop/missing.env does not exist; create it, or add required: false to make it optional"},
		{"an unreadable file", "    env_file: unreadable.env\n",
			"shop/fleet.yaml:6: services.web.env_file: cannot read env file: permission denied; check that the file is readable"},
		{"an empty path", `    env_file: ""` + "\n",
			"shop/fleet.yaml:6: services.web.env_file: path is empty; write it like ./app.env"},
		{"a map", "    env_file: {a: b}\n",
			"shop/fleet.yaml:6: services.web.env_file: got a map, want an env file or a list of them; write it like ./app.env"},
		{"no value", "    env_file:\n",
			"shop/fleet.yaml:6: services.web.env_file: has no value, want an env file or a list of them; write it like ./app.env"},
		{"long form without path", "    env_file: [{required: false}]\n",
			"shop/fleet.yaml:6: services.web.env_file[0].path: path is missing; add path: ./app.env"},
		{"long form with an unknown key", "    env_file: [{path: a.env, format: raw}]\n",
			`shop/fleet.yaml:6: services.web.env_file[0].format: unknown key "format"; known keys here are path, required`},
		{"required that is no boolean", "    env_file: [{path: a.env, required: maybe}]\n",
			`shop/fleet.yaml:6: services.web.env_file[0].required: got "maybe", want true or false; write it like false`},
		{"a list item that is a list", "    env_file: [[a.env]]\n",
			"shop/fleet.yaml:6: services.web.env_file[0]: got a list, want a string; write it like ./app.env"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseWith(&disk{files: map[string]string{"shop/a.env": "A=1\n"}}, webWith(tc.lines))
			if err == nil || err.Error() != tc.want {
				t.Errorf("got  %v\nwant %s", err, tc.want)
			}
		})
	}
}

func TestBadLinesInAnEnvFileAreReportedAtThatFilesLine(t *testing.T) {
	d := &disk{files: map[string]string{"shop/a.env": "# settings\nOK=1\nLOG-LEVEL=info\nQUOTE='open\n"}}
	_, err := parseWith(d, webWith("    env_file: a.env\n"))
	errs := fleetfile.Errors(err)
	want := []string{
		`shop/a.env:3: "LOG-LEVEL" is not a valid environment variable name; use letters, digits and _, not starting with a digit, like LOG_LEVEL`,
		`shop/a.env:4: the ' quote is not closed on this line; close it; write a line break inside double quotes as \n`,
	}
	if len(errs) != 2 || errs[0].Error() != want[0] || errs[1].Error() != want[1] {
		t.Fatalf("got:\n%v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
	if errs[0].File != "shop/a.env" || errs[0].Line != 3 {
		t.Errorf("error at %s:%d, want shop/a.env:3", errs[0].File, errs[0].Line)
	}
}

func TestAnEnvFileSharedByServicesIsReadAndReportedOnce(t *testing.T) {
	d := &disk{files: map[string]string{"shop/common.env": "1BAD=x\n"}}
	yaml := webWith("    env_file: common.env\n") +
		"  api:\n    image: {binary: ./api}\n    command: [/api]\n    port: 9090\n    env_file: ./common.env\n"
	_, err := parseWith(d, yaml)
	if errs := fleetfile.Errors(err); len(errs) != 1 || len(d.read) != 1 {
		t.Errorf("want one read and one error, got %d reads and:\n%v", len(d.read), err)
	}
}

func TestFleetFileErrorsComeBeforeEnvFileErrors(t *testing.T) {
	d := &disk{files: map[string]string{"shop/a.env": "\n\n\n\n\n\n\n\n\n\n1BAD=x\n"}}
	_, err := parseWith(d, webWith("    env_file: a.env\n    memory: lots\n"))
	var files []string
	for _, e := range fleetfile.Errors(err) {
		files = append(files, e.File)
	}
	if want := []string{"shop/fleet.yaml", "shop/a.env"}; !slices.Equal(files, want) {
		t.Errorf("errors from %q, want %q:\n%v", files, want, err)
	}
}

func TestLoadReadsEnvFilesNextToTheFleetFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "fleet.yaml"), []byte(webWith("    env_file: app.env\n")), 0o600)
	os.WriteFile(filepath.Join(dir, "app.env"), []byte("export GREETING=\"hello\\nworld\"\n"), 0o600)
	f, err := fleetfile.Load(filepath.Join(dir, "fleet.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Service("web").Env["GREETING"]; got != "hello\nworld" {
		t.Errorf("GREETING = %q", got)
	}
}

func TestLoadReadsTheFleetFileThroughTheInjectedReader(t *testing.T) {
	d := &disk{files: map[string]string{"shop/fleet.yaml": webWith("")}}
	if _, err := fleetfile.Load("shop/fleet.yaml", fleetfile.WithReadFile(d.readFile)); err != nil {
		t.Fatal(err)
	}
	_, err := fleetfile.Load("shop/none.yaml", fleetfile.WithReadFile(d.readFile))
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "read fleet file: ") {
		t.Errorf("err = %v, want a wrapped fs.ErrNotExist", err)
	}
}
