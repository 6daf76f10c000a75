package fleetfile_test

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vmfleet/vmfleet/pkg/fleetfile"
	"github.com/vmfleet/vmfleet/pkg/health"
	"github.com/vmfleet/vmfleet/pkg/imds"
	"github.com/vmfleet/vmfleet/pkg/limits"
)

const sampleFile = "../../testdata/fleetfile/shop/fleet.yaml"

// mustParse parses a fleet file that must be valid; yaml starts after a
// leading newline, as in badFiles.
func mustParse(t *testing.T, filename, yaml string) *fleetfile.Fleet {
	t.Helper()
	f, err := fleetfile.Parse(filename, []byte(strings.TrimPrefix(yaml, "\n")))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return f
}

func TestLoadReadsTheSampleFleet(t *testing.T) {
	dir, err := filepath.Abs(filepath.Dir(sampleFile))
	if err != nil {
		t.Fatal(err)
	}
	f, err := fleetfile.Load(sampleFile)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := &fleetfile.Fleet{
		Name:      "shop",
		File:      sampleFile,
		Dir:       dir,
		TimeScale: 0.05,
		Services: []*fleetfile.Service{
			{
				Name: "catalog",
				Image: fleetfile.Image{
					Binary: filepath.Join(dir, "bin/catalog"),
					Copies: []fleetfile.Copy{{Src: filepath.Join(dir, "static"), Dst: "/srv/static"}},
				},
				Command:     []string{"/app/catalog", "-listen", ":8080"},
				Env:         map[string]string{"LOG_LEVEL": "info"},
				Port:        8080,
				Instances:   3,
				CPU:         0.5,
				MemoryBytes: 256 << 20,
				Health: health.Check{
					Type: "http", Path: "/healthz",
					Interval: 10 * time.Second, Timeout: 5 * time.Second,
					HealthyThreshold: 2, UnhealthyThreshold: 2,
				},
				Balancer:        fleetfile.Balancer{Listen: "127.0.0.1:8081", DeregistrationDelay: 30 * time.Second, Replay: true},
				MetadataOptions: imds.DefaultMetadataOptions(),
			},
			{
				Name:        "web",
				Image:       fleetfile.Image{Binary: filepath.Join(dir, "bin/web")},
				Command:     []string{"/app/web"},
				Port:        8080,
				Instances:   2,
				CPU:         limits.DefaultCPU,
				MemoryBytes: limits.DefaultMemory,
				Health: health.Check{
					Type: "http", Path: "/",
					Interval: 30 * time.Second, Timeout: 5 * time.Second,
					HealthyThreshold: 5, UnhealthyThreshold: 2,
				},
				Balancer:        fleetfile.Balancer{Listen: "127.0.0.1:8080", DeregistrationDelay: 300 * time.Second, Replay: true},
				DependsOn:       []string{"catalog"},
				MetadataOptions: imds.DefaultMetadataOptions(),
				Scaling: &fleetfile.Scaling{
					Min: 1, Max: 6, InstanceWarmup: time.Minute,
					TargetTracking: []fleetfile.TargetTracking{
						{Metric: limits.MetricCPUUtilization, Target: 50},
						{Metric: limits.MetricRequestCountPerTarget, Target: 600},
					},
				},
			},
		},
	}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("got\n%s\nwant\n%s", dump(f), dump(want))
	}
}

// dump prints a fleet one service per line, since %+v of the pointers
// would only show addresses.
func dump(f *fleetfile.Fleet) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name %q file %q dir %q time scale %g\n", f.Name, f.File, f.Dir, f.TimeScale)
	for _, s := range f.Services {
		fmt.Fprintf(&b, "%+v\n", *s)
		if s.Scaling != nil {
			fmt.Fprintf(&b, "  scaling %+v\n", *s.Scaling)
		}
	}
	return b.String()
}

func TestParseFillsInDefaults(t *testing.T) {
	f := mustParse(t, "/srv/shop/fleet.yaml", `
services:
  web:
    image: {binary: /opt/web}
    command: [/web]
    port: 8080
`)
	want := &fleetfile.Service{
		Name:        "web",
		Image:       fleetfile.Image{Binary: "/opt/web"},
		Command:     []string{"/web"},
		Port:        8080,
		Instances:   limits.DefaultInstances,
		CPU:         limits.DefaultCPU,
		MemoryBytes: limits.DefaultMemory,
		Health: health.Check{
			Type:               limits.DefaultHealthType,
			Path:               limits.DefaultHealthPath,
			Interval:           limits.DefaultHealthInterval,
			Timeout:            limits.DefaultHealthTimeout,
			HealthyThreshold:   limits.DefaultHealthyThreshold,
			UnhealthyThreshold: limits.DefaultUnhealthyThreshold,
		},
		Balancer: fleetfile.Balancer{
			Listen:              limits.DefaultListen,
			DeregistrationDelay: limits.DefaultDeregistrationDelay,
			Replay:              limits.DefaultReplay,
		},
		MetadataOptions: imds.MetadataOptions{HTTPEndpoint: "enabled", HTTPTokens: "optional"},
	}
	if len(f.Services) != 1 || !reflect.DeepEqual(f.Services[0], want) {
		t.Errorf("got  %+v\nwant %+v", f.Services[0], want)
	}
	if f.Name != "shop" {
		t.Errorf("fleet name = %q, want the directory's name, shop", f.Name)
	}
}

func TestParseResolvesPathsAgainstTheFilesDirectory(t *testing.T) {
	f := mustParse(t, "/srv/shop/fleet.yaml", `
services:
  web:
    image:
      binary: ./bin/web
      copy:
        - static:/srv/static/
        - ../shared/ca.pem:/etc/ssl/ca.pem
        - /etc/hosts:/etc/hosts
        - ./odd:name:/data
    command: [/web]
    port: 8080
  api:
    image: {rootfs: ../images/api.tar}
    command: [/api]
    port: 8080
  db:
    image: {rootfs: /var/images/db.tar}
    command: [/db]
    port: 5432
`)
	if got := f.Service("web").Image.Binary; got != "/srv/shop/bin/web" {
		t.Errorf("relative binary resolved to %q", got)
	}
	wantCopies := []fleetfile.Copy{
		{Src: "/srv/shop/static", Dst: "/srv/static"},
		{Src: "/srv/shared/ca.pem", Dst: "/etc/ssl/ca.pem"},
		{Src: "/etc/hosts", Dst: "/etc/hosts"},
		{Src: "/srv/shop/odd:name", Dst: "/data"}, // split at the first ":/"
	}
	if got := f.Service("web").Image.Copies; !reflect.DeepEqual(got, wantCopies) {
		t.Errorf("copies = %+v\nwant %+v", got, wantCopies)
	}
	if got := f.Service("api").Image.Rootfs; got != "/srv/images/api.tar" {
		t.Errorf("relative rootfs resolved to %q", got)
	}
	if got := f.Service("db").Image.Rootfs; got != "/var/images/db.tar" {
		t.Errorf("absolute rootfs changed to %q", got)
	}
	if f.Dir != "/srv/shop" {
		t.Errorf("Dir = %q", f.Dir)
	}
}

func TestParseDoesNoIOSoARelativeFileNameGivesRelativePaths(t *testing.T) {
	f := mustParse(t, "deploy/shop/fleet.yaml", `
services:
  web:
    image: {binary: ./bin/web}
    command: [/web]
    port: 8080
`)
	if f.Dir != "deploy/shop" || f.Service("web").Image.Binary != "deploy/shop/bin/web" {
		t.Errorf("Dir %q, binary %q", f.Dir, f.Service("web").Image.Binary)
	}
}

func TestLoadMakesPathsAbsoluteButNamesTheFileAsGiven(t *testing.T) {
	f, err := fleetfile.Load(sampleFile)
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(f.Dir) || !filepath.IsAbs(f.Service("web").Image.Binary) {
		t.Errorf("Dir %q and binary %q should be absolute", f.Dir, f.Service("web").Image.Binary)
	}
	if f.File != sampleFile {
		t.Errorf("File = %q, want %q", f.File, sampleFile)
	}
}

func TestLoadWrapsReadErrors(t *testing.T) {
	_, err := fleetfile.Load(filepath.Join(t.TempDir(), "missing.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want one wrapping fs.ErrNotExist", err)
	}
	if fleetfile.Errors(err) != nil {
		t.Errorf("a read failure is not a problem in the file")
	}
}

func TestFleetNameDefaultsToTheSanitisedDirectoryName(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"/home/me/shop/fleet.yaml", "shop"},
		{"/home/me/My Shop_2/fleet.yaml", "my-shop-2"},
		{"/home/me/--Hello, World!--/fleet.yaml", "hello-world"},
		{"/home/me/" + strings.Repeat("abcdefghi-", 5) + "/fleet.yaml", "abcdefghi-abcdefghi-abcdefghi-abcdefghi"},
	} {
		f := mustParse(t, tc.file, `
services:
  web: {image: {binary: ./web}, command: [/web], port: 8080}
`)
		if f.Name != tc.want {
			t.Errorf("%s: name %q, want %q", tc.file, f.Name, tc.want)
		}
	}
	f := mustParse(t, "/home/me/My Shop/fleet.yaml", `
name: shop
services:
  web: {image: {binary: ./web}, command: [/web], port: 8080}
`)
	if f.Name != "shop" {
		t.Errorf("an explicit name must win over the directory's: got %q", f.Name)
	}
}

func TestBalancerListenAddressesAreNormalised(t *testing.T) {
	for _, tc := range []struct{ balancer, want string }{
		{"{}", "127.0.0.1:0"}, // a free port is chosen at up
		{"{listen: ':8080'}", "127.0.0.1:8080"},
		{"{listen: 'localhost:9000'}", "127.0.0.1:9000"},
		{"{listen: '0.0.0.0:80'}", "0.0.0.0:80"},
		{"{listen: '[::1]:8080'}", "[::1]:8080"},
		{"{listen: '10.1.2.3:0'}", "10.1.2.3:0"},
	} {
		f := mustParse(t, "/srv/shop/fleet.yaml", `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    balancer: `+tc.balancer+`
`)
		if got := f.Service("web").Balancer.Listen; got != tc.want {
			t.Errorf("balancer %s: listen %q, want %q", tc.balancer, got, tc.want)
		}
	}
}

func TestPortZeroAndDistinctAddressesDoNotCollide(t *testing.T) {
	mustParse(t, "/srv/shop/fleet.yaml", `
services:
  a: {image: {binary: ./a}, command: [/a], port: 80}
  b: {image: {binary: ./b}, command: [/b], port: 80}
  c: {image: {binary: ./c}, command: [/c], port: 80, balancer: {listen: "127.0.0.1:0"}}
  d: {image: {binary: ./d}, command: [/d], port: 80, balancer: {listen: "127.0.0.1:8080"}}
  e: {image: {binary: ./e}, command: [/e], port: 80, balancer: {listen: "127.0.0.2:8080"}}
  f: {image: {binary: ./f}, command: [/f], port: 80, balancer: {listen: "127.0.0.1:8081"}}
`)
}

func TestMemorySizes(t *testing.T) {
	for _, tc := range []struct {
		memory string
		want   int64
	}{
		{"256MiB", 256 << 20},
		{"1GiB", 1 << 30},
		{"512M", 512 << 20}, // all units are binary, as in docker --memory
		{"512MB", 512 << 20},
		{"2g", 2 << 30},
		{"1.5GiB", 3 << 29},
		{"96MiB", limits.MinMemory},
		{"268435456", 256 << 20}, // a plain number is bytes
		{"'128 MiB'", 128 << 20},
	} {
		f := mustParse(t, "/srv/shop/fleet.yaml", `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    memory: `+tc.memory+`
`)
		if got := f.Service("web").MemoryBytes; got != tc.want {
			t.Errorf("memory %s = %d bytes, want %d", tc.memory, got, tc.want)
		}
	}
}

func TestBalancerReplayIsOnUnlessTurnedOff(t *testing.T) {
	for _, tc := range []struct {
		balancer string
		want     bool
	}{
		{"{}", true},
		{"{replay: true}", true},
		{"{replay: false}", false},
		{"{listen: 127.0.0.1:8080, replay: false}", false},
	} {
		f := mustParse(t, "/srv/shop/fleet.yaml", `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    balancer: `+tc.balancer+`
`)
		if got := f.Service("web").Balancer.Replay; got != tc.want {
			t.Errorf("balancer: %s gives replay %v, want %v", tc.balancer, got, tc.want)
		}
	}
}

func TestTCPHealthChecksHaveNoPath(t *testing.T) {
	f := mustParse(t, "/srv/shop/fleet.yaml", `
services:
  db:
    image: {rootfs: ./db.tar}
    command: [/db]
    port: 5432
    health: {type: tcp, interval: 10s, timeout: 2s}
`)
	h := f.Service("db").Health
	if h.Type != health.TypeTCP || h.Path != "" || h.Interval != 10*time.Second || h.Timeout != 2*time.Second {
		t.Errorf("health = %+v", h)
	}
}

func TestEnvValuesMayBeWrittenAsNumbersOrBooleans(t *testing.T) {
	f := mustParse(t, "/srv/shop/fleet.yaml", `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    env: {PORT: 8080, DEBUG: true, EMPTY: "", _x1: y}
`)
	want := map[string]string{"PORT": "8080", "DEBUG": "true", "EMPTY": "", "_x1": "y"}
	if got := f.Service("web").Env; !reflect.DeepEqual(got, want) {
		t.Errorf("env = %v, want %v", got, want)
	}
}

func TestInstancesMayBeZero(t *testing.T) {
	f := mustParse(t, "/srv/shop/fleet.yaml", `
services:
  web: {image: {binary: ./web}, command: [/web], port: 8080, instances: 0}
`)
	if got := f.Service("web").Instances; got != 0 {
		t.Errorf("instances = %d, want 0", got)
	}
}

func TestExtensionKeysCanHoldSharedAnchors(t *testing.T) {
	f := mustParse(t, "/srv/shop/fleet.yaml", `
x-health: &health {path: /healthz, interval: 5s, timeout: 2s}
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    health: *health
  api:
    image: {binary: ./api}
    command: [/api]
    port: 8080
    health: *health
`)
	for _, s := range f.Services {
		if s.Health.Path != "/healthz" || s.Health.Interval != 5*time.Second {
			t.Errorf("%s: health = %+v", s.Name, s.Health)
		}
	}
}

func TestServiceLooksUpByName(t *testing.T) {
	f, err := fleetfile.Load(sampleFile)
	if err != nil {
		t.Fatal(err)
	}
	if s := f.Service("web"); s == nil || s.Name != "web" {
		t.Errorf("Service(web) = %+v", s)
	}
	if s := f.Service("nope"); s != nil {
		t.Errorf("Service(nope) = %+v, want nil", s)
	}
}

func TestStartOrderStartsDependenciesFirstAndOtherwiseKeepsFileOrder(t *testing.T) {
	for _, tc := range []struct {
		name     string
		services string // one line per service: "name: [deps]"
		want     string
	}{
		{"no dependencies", "a: []\nb: []\nc: []", "a b c"},
		{"dependency listed later", "web: [catalog]\ncatalog: []", "catalog web"},
		{"chain", "a: [b]\nb: [c]\nc: []", "c b a"},
		{"diamond", "web: [cart, catalog]\ncart: [db]\ncatalog: [db]\ndb: []", "db cart catalog web"},
		{"unrelated service keeps its place", "x: []\nweb: [db]\ny: []\ndb: []", "x db web y"},
	} {
		var yaml strings.Builder
		yaml.WriteString("services:\n")
		for line := range strings.SplitSeq(tc.services, "\n") {
			name, deps, _ := strings.Cut(line, ": ")
			yaml.WriteString("  " + name + ": {image: {binary: ./x}, command: [/x], port: 80, depends_on: " + deps + "}\n")
		}
		f := mustParse(t, "/srv/shop/fleet.yaml", yaml.String())
		var got []string
		for _, s := range f.StartOrder() {
			got = append(got, s.Name)
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%s: start order %v, want %s", tc.name, got, tc.want)
		}
	}
}

func TestStartOrderOfAHandBuiltCycleListsEachServiceOnce(t *testing.T) {
	f := &fleetfile.Fleet{Services: []*fleetfile.Service{
		{Name: "a", DependsOn: []string{"b"}},
		{Name: "b", DependsOn: []string{"a", "missing"}},
	}}
	if got := f.StartOrder(); len(got) != 2 {
		t.Errorf("StartOrder = %v, want both services once", got)
	}
}
