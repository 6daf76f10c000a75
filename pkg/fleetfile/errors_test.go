package fleetfile_test

import (
	"cmp"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/vmfleet/vmfleet/pkg/fleetfile"
)

// badFile is a fleet file with exactly one mistake. yaml starts after a
// leading newline, so line 1 is the first line written in the literal.
type badFile struct {
	name string
	file string // defaults to "fleet.yaml"
	yaml string
	line int    // where the error must point
	want string // fragment of the message
}

func badFiles() []badFile {
	return slices.Concat(coreBadFiles(), timeScaleBadFiles(), scalingBadFiles(), warmPoolBadFiles(), metadataOptionsBadFiles())
}

func coreBadFiles() []badFile {
	return []badFile{
		// The file as a whole.
		{name: "empty file", yaml: "\n", line: 1, want: "the file is empty"},
		{name: "only comments", yaml: "\n# nothing yet\n", line: 1, want: "the file is empty"},
		{name: "invalid YAML", yaml: `
services:
  web:
    image: {binary: ./web}
    command: ["/web]
`, line: 4, want: "invalid YAML: found unexpected end of stream"},
		{name: "not a map", yaml: `
- web
`, line: 1, want: "want a map with name and services"},
		{name: "two documents", yaml: `
services: {web: {image: {binary: ./web}, command: [/web], port: 80}}
---
services: {}
`, line: 3, want: "more than one YAML document"},
		{name: "no services key", yaml: `
name: shop
`, line: 1, want: "the file has no services"},
		{name: "empty services", yaml: `
services: {}
`, line: 1, want: "the file has no services"},
		{name: "services is a list", yaml: `
services:
  - web
`, line: 2, want: "got a list, want a map of service names to services"},
		{name: "merge keys", yaml: `
x-base: &base {port: 8080}
services:
  web:
    <<: *base
    image: {binary: ./web}
    command: [/web]
    port: 8080
`, line: 4, want: "merge keys (<<) are not supported"},

		// Unknown keys.
		{name: "unknown top-level key near a known one", yaml: `
nmae: shop
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
`, line: 1, want: `unknown key "nmae"; did you mean name?`},
		{name: "unknown service key near a known one", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    memroy: 256MiB
`, line: 6, want: `services.web.memroy: unknown key "memroy"; did you mean memory?`},
		{name: "docker compose key", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    replicas: 3
`, line: 6, want: "did you mean instances?"},
		{name: "unknown health key near a known one", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    health:
      healthy_treshold: 3
`, line: 7, want: "did you mean healthy_threshold?"},
		{name: "unknown key far from any known one", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    colour: blue
`, line: 6, want: "known keys here are image, command, env"},

		// Duplicate keys.
		{name: "duplicate service", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
  web:
    image: {binary: ./web2}
    command: [/web]
    port: 8080
`, line: 6, want: `key "web" appears twice (first at line 2)`},
		{name: "duplicate service key", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    port: 9090
`, line: 6, want: `services.web.port: key "port" appears twice (first at line 5)`},
		{name: "duplicate env key", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    env:
      LEVEL: info
      LEVEL: debug
`, line: 8, want: `key "LEVEL" appears twice (first at line 7)`},

		// Wrong types.
		{name: "quoted number", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: "8080"
`, line: 5, want: `"8080" is a string, not a number; write it without quotes, like 8080`},
		{name: "word where a number goes", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: eighty
`, line: 5, want: `"eighty" is not a number`},
		{name: "fraction where a whole number goes", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    instances: 1.5
`, line: 6, want: "1.5 is not a whole number"},
		{name: "missing value", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port:
`, line: 5, want: "services.web.port: has no value, want a whole number"},
		{name: "map where a list goes", yaml: `
services:
  web:
    image: {binary: ./web}
    command: {program: /web}
    port: 8080
`, line: 4, want: "got a map, want a list of strings"},
		{name: "string where a list goes", yaml: `
services:
  web:
    image: {binary: ./web}
    command: /web -v
    port: 8080
`, line: 4, want: `got "/web -v", want a list of strings; write it like ["/app/web", "-flag"]`},
		{name: "list where a map goes", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    env: [LEVEL=info]
`, line: 6, want: "got a list, want a map of names to values; write it like {LOG_LEVEL: info}"},
		{name: "map in a list of strings", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web, {a: b}]
    port: 8080
`, line: 4, want: "services.web.command[1]: got a map, want a string"},
		{name: "image as a string", yaml: `
services:
  web:
    image: nginx:latest
    command: [/web]
    port: 8080
`, line: 3, want: `got "nginx:latest", want a map; write it like {binary: ./bin/app}`},
		{name: "service without a body", yaml: `
services:
  web:
`, line: 2, want: "services.web: has no value, want a map"},

		// Names.
		{name: "uppercase service name", yaml: `
services:
  Web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
`, line: 2, want: `name "Web" can't be part of a domain name; use lower-case letters, digits and inner dashes, like web`},
		{name: "service name with underscore", yaml: `
services:
  web_1:
    image: {binary: ./web}
    command: [/web]
    port: 8080
`, line: 2, want: `"web_1" can't be part of a domain name`},
		{name: "service name ending in a dash", yaml: `
services:
  web-:
    image: {binary: ./web}
    command: [/web]
    port: 8080
`, line: 2, want: `"web-" can't be part of a domain name`},
		{name: "service name too long", yaml: `
services:
  a-very-long-service-name-that-goes-on-and-on:
    image: {binary: ./web}
    command: [/web]
    port: 8080
`, line: 2, want: "is longer than 40 characters"},
		{name: "bad fleet name", yaml: `
name: My Shop
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
`, line: 1, want: `name: name "My Shop" can't be part of a domain name; use lower-case letters, digits and inner dashes, like my-shop`},
		{name: "no name and none from the directory", file: "/fleet.yaml", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
`, line: 1, want: "no name given"},

		// Image.
		{name: "image missing", yaml: `
services:
  web:
    command: [/web]
    port: 8080
`, line: 2, want: "services.web.image: image is missing; add image: {binary: ./bin/web}"},
		{name: "both binary and rootfs", yaml: `
services:
  web:
    image:
      binary: ./web
      rootfs: ./web.tar
    command: [/web]
    port: 8080
`, line: 5, want: "image has both binary and rootfs"},
		{name: "neither binary nor rootfs", yaml: `
services:
  web:
    image:
      copy: ["./static:/srv"]
    command: [/web]
    port: 8080
`, line: 3, want: "image has neither binary nor rootfs"},
		{name: "empty binary path", yaml: `
services:
  web:
    image: {binary: ""}
    command: [/web]
    port: 8080
`, line: 3, want: "services.web.image.binary: path is empty"},
		{name: "copy without a colon", yaml: `
services:
  web:
    image:
      binary: ./web
      copy: ["./static"]
    command: [/web]
    port: 8080
`, line: 5, want: `services.web.image.copy[0]: "./static" is not SRC:DST; write it like ./static:/srv/static`},
		{name: "copy to a relative destination", yaml: `
services:
  web:
    image:
      binary: ./web
      copy: ["./static:srv/static"]
    command: [/web]
    port: 8080
`, line: 5, want: `destination "srv/static" is not an absolute guest path`},
		{name: "copy with an empty source", yaml: `
services:
  web:
    image:
      binary: ./web
      copy: [":/srv"]
    command: [/web]
    port: 8080
`, line: 5, want: "has an empty source"},
		{name: "copy to the same destination twice", yaml: `
services:
  web:
    image:
      binary: ./web
      copy:
        - ./a:/srv
        - ./b:/srv/
    command: [/web]
    port: 8080
`, line: 7, want: "something is already copied to /srv (line 6)"},

		// Command.
		{name: "command missing", yaml: `
services:
  web:
    image: {rootfs: ./web.tar}
    port: 8080
`, line: 2, want: "command is missing"},
		{name: "command empty", yaml: `
services:
  web:
    image: {binary: ./web}
    command: []
    port: 8080
`, line: 4, want: "command is empty"},
		{name: "command with an empty program", yaml: `
services:
  web:
    image: {binary: ./web}
    command: ["", "-v"]
    port: 8080
`, line: 4, want: "services.web.command[0]: the program to run is empty"},

		// Env.
		{name: "env name starting with a digit", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    env: {1LEVEL: info}
`, line: 6, want: `"1LEVEL" is not a valid environment variable name`},
		{name: "env name with a dash", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    env:
      LOG-LEVEL: info
`, line: 7, want: `"LOG-LEVEL" is not a valid environment variable name`},
		{name: "env value missing", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    env:
      LEVEL:
`, line: 7, want: `services.web.env.LEVEL: has no value, want a string; write it like LEVEL: "value"`},

		// Numbers and sizes.
		{name: "port missing", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
`, line: 2, want: "port is missing"},
		{name: "port zero", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 0
`, line: 5, want: "port 0 is out of range; use a port from 1 to 65535"},
		{name: "port too high", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 65536
`, line: 5, want: "port 65536 is out of range"},
		{name: "negative instances", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    instances: -1
`, line: 6, want: "instances -1 is negative"},
		{name: "zero cpu", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    cpu: 0
`, line: 6, want: "cpu 0 must be more than zero"},
		{name: "negative cpu", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    cpu: -0.5
`, line: 6, want: "cpu -0.5 must be more than zero"},
		{name: "cpu above what the launcher gives one instance", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    cpu: 100
`, line: 6, want: "services.web.cpu: cpu 100 is more than 64 cores; give cores from 0.01 to 64, like 0.5 or 2"},
		{name: "cpu below the least cgroup quota", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    cpu: 0.001
`, line: 6, want: "cpu 0.001 is less than 0.01 cores"},
		{name: "infinite cpu", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    cpu: .inf
`, line: 6, want: "is not a finite number"},
		{name: "size in words", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    memory: 256 megs
`, line: 6, want: `services.web.memory: "256 megs" is not a size; write it like 256MiB`},
		{name: "size with no number", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    memory: MiB
`, line: 6, want: `"MiB" is not a size`},
		{name: "zero size", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    memory: 0MiB
`, line: 6, want: `"0MiB" must be more than zero; write it like 256MiB`},
		{name: "negative size", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    memory: -1GiB
`, line: 6, want: `"-1GiB" must be more than zero`},
		{name: "memory below what the kernel needs", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    memory: 32MiB
`, line: 6, want: "services.web.memory: 32MiB is below the 96MiB the guest kernel needs to boot; give 96MiB to 1TiB, like 256MiB"},
		{name: "absurd memory", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    memory: 99999999999999999999TiB
`, line: 6, want: "is more than 1TiB"},

		// Health.
		{name: "health type not http or tcp", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    health: {type: grpc}
`, line: 6, want: `health check type "grpc" is not http or tcp`},
		{name: "health path without a slash", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    health: {path: healthz}
`, line: 6, want: `path "healthz" does not start with /`},
		{name: "health path on a tcp check", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    health:
      type: tcp
      path: /healthz
`, line: 8, want: "path applies only to http health checks"},
		{name: "interval without a unit", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    health: {interval: 10}
`, line: 6, want: `services.web.health.interval: "10" is not a duration; write it like 2s or 500ms`},
		{name: "interval in words", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    health: {interval: often}
`, line: 6, want: `"often" is not a duration`},
		{name: "zero timeout", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    health: {timeout: 0s}
`, line: 6, want: "services.web.health.timeout: 0s is outside AWS's range of 2s to 120s; give whole seconds in that range"},
		{name: "interval shorter than AWS's", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    health: {interval: 1s}
`, line: 6, want: "services.web.health.interval: 1s is outside AWS's range of 5s to 300s; give whole seconds in that range; time_scale, not a shorter period, makes a fleet run faster"},
		{name: "timeout not shorter than interval", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    health:
      interval: 5s
      timeout: 5s
`, line: 8, want: "services.web.health.timeout: timeout 5s is not shorter than interval 5s"},
		{name: "interval below the default timeout", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    health:
      interval: 5s
`, line: 7, want: "timeout 5s (the default) is not shorter than interval 5s"},
		{name: "healthy threshold below AWS's range", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    health: {healthy_threshold: 1}
`, line: 6, want: "healthy_threshold 1 is out of range; use 2 to 10"},
		{name: "unhealthy threshold above AWS's range", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    health: {unhealthy_threshold: 11}
`, line: 6, want: "unhealthy_threshold 11 is out of range"},

		// Balancer.
		{name: "listen without a port", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    balancer: {listen: 127.0.0.1}
`, line: 6, want: `"127.0.0.1" is not host:port; write it like 127.0.0.1:8080`},
		{name: "listen on a host name", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    balancer: {listen: "example.com:80"}
`, line: 6, want: `host "example.com" is not an IP address or localhost`},
		{name: "listen on a named port", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    balancer: {listen: "127.0.0.1:http"}
`, line: 6, want: `port "http" in "127.0.0.1:http" is not a number from 0 to 65535`},
		{name: "same listen address twice", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    balancer: {listen: "127.0.0.1:8080"}
  api:
    image: {binary: ./api}
    command: [/api]
    port: 8080
    balancer: {listen: "localhost:8080"}
`, line: 11, want: "127.0.0.1:8080 collides with services.web.balancer.listen 127.0.0.1:8080 at line 6"},
		{name: "wildcard listen address on a used port", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    balancer: {listen: ":8080"}
  api:
    image: {binary: ./api}
    command: [/api]
    port: 8080
    balancer: {listen: "0.0.0.0:8080"}
`, line: 11, want: "0.0.0.0:8080 collides with services.web.balancer.listen 127.0.0.1:8080 at line 6"},
		{name: "deregistration delay above AWS's range", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    balancer: {deregistration_delay: 2h}
`, line: 6, want: "2h is out of range; use 0s to 1h"},
		{name: "negative deregistration delay", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    balancer: {deregistration_delay: -1s}
`, line: 6, want: "-1s is out of range"},

		{name: "replay as a quoted boolean", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    balancer: {replay: "false"}
`, line: 6, want: `services.web.balancer.replay: "false" is a string, not true or false; write it without quotes, like false`},
		{name: "replay as yes", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    balancer:
      replay: yes
`, line: 7, want: `services.web.balancer.replay: got "yes", want true or false; write it like false`},
		{name: "replay as a number", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    balancer: {replay: 0}
`, line: 6, want: "got the number 0, want true or false"},
		{name: "replay without a value", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    balancer:
      replay:
`, line: 7, want: "services.web.balancer.replay: has no value, want true or false"},
		{name: "replay misspelt", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    balancer: {replya: false}
`, line: 6, want: `unknown key "replya"; did you mean replay?`},

		// depends_on.
		{name: "depends on an unknown service", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    depends_on: [catalgo]
  catalog:
    image: {binary: ./catalog}
    command: [/catalog]
    port: 8080
`, line: 6, want: `services.web.depends_on[0]: "catalgo" is not a service in this fleet; did you mean catalog?`},
		{name: "depends on a service twice", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    depends_on:
      - catalog
      - catalog
  catalog:
    image: {binary: ./catalog}
    command: [/catalog]
    port: 8080
`, line: 8, want: `"catalog" is listed twice (first at line 7)`},
		{name: "depends on itself", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    depends_on: [web]
`, line: 6, want: "depends_on forms a cycle: web -> web"},
		{name: "two services depend on each other", yaml: `
services:
  catalog:
    image: {binary: ./catalog}
    command: [/catalog]
    port: 8080
    depends_on: [web]
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    depends_on: [catalog]
`, line: 11, want: "services.web.depends_on[0]: depends_on forms a cycle: web -> catalog -> web; remove one of these dependencies"},
		{name: "three services in a cycle", yaml: `
services:
  a:
    image: {binary: ./a}
    command: [/a]
    port: 8080
    depends_on: [b]
  b:
    image: {binary: ./b}
    command: [/b]
    port: 8080
    depends_on: [c]
  c:
    image: {binary: ./c}
    command: [/c]
    port: 8080
    depends_on: [a]
`, line: 16, want: "c -> a -> b -> c"},
		{name: "egress host port out of range", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    egress: {host_ports: [70000]}
`, line: 6, want: "port 70000"},
		{name: "egress host port twice", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    egress:
      host_ports: [5432, 5432]
`, line: 7, want: "port 5432 is listed twice"},
		{name: "egress host ports not a list", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    egress: {host_ports: 5432}
`, line: 6, want: "want a list of ports"},
		{name: "egress internet not a boolean", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    egress: {internet: sometimes}
`, line: 6, want: "internet"},
		{name: "egress unknown key", yaml: `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    egress: {ports: [5432]}
`, line: 6, want: "ports"},
	}
}

func TestParseRejectsEachMistakeWithOneErrorAtItsLine(t *testing.T) {
	for _, tc := range badFiles() {
		t.Run(tc.name, func(t *testing.T) {
			file := cmp.Or(tc.file, "shop/fleet.yaml")
			f, err := fleetfile.Parse(file, []byte(strings.TrimPrefix(tc.yaml, "\n")))
			if err == nil {
				t.Fatalf("Parse accepted the file: %+v", f)
			}
			if f != nil {
				t.Errorf("Parse returned a fleet along with an error")
			}
			errs := fleetfile.Errors(err)
			if len(errs) != 1 {
				t.Fatalf("want exactly one error, got %d:\n%v", len(errs), err)
			}
			e := errs[0]
			if e.File != file || e.Line != tc.line {
				t.Errorf("error at %s:%d, want %s:%d: %v", e.File, e.Line, file, tc.line, e)
			}
			if !strings.Contains(e.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", e.Error(), tc.want)
			}
			if err.Error() != e.Error() {
				t.Errorf("joined error %q differs from the single error %q", err.Error(), e.Error())
			}
		})
	}
}

func TestErrorFormatsAsFileLineWhereWhatFix(t *testing.T) {
	e := &fleetfile.Error{File: "fleet.yaml", Line: 14, Path: "services.catalog.memory", Msg: `"256 megs" is not a size`, Fix: "write it like 256MiB"}
	want := `fleet.yaml:14: services.catalog.memory: "256 megs" is not a size; write it like 256MiB`
	if got := e.Error(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	bare := &fleetfile.Error{File: "fleet.yaml", Msg: "invalid YAML: something"}
	if got, want := bare.Error(), "fleet.yaml: invalid YAML: something"; got != want {
		t.Errorf("without line, path and fix: got %q, want %q", got, want)
	}
}

func TestParseReportsEveryErrorSortedByLine(t *testing.T) {
	data := `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    depends_on: [nope]
    memory: lots
    health: {timeout: 2s, type: grpc}
  api:
    image: {binary: ./api}
    port: 99999
`
	_, err := fleetfile.Parse("shop/fleet.yaml", []byte(strings.TrimPrefix(data, "\n")))
	errs := fleetfile.Errors(err)
	var got []string
	for _, e := range errs {
		got = append(got, e.Path)
	}
	want := []string{
		"services.web.depends_on[0]",
		"services.web.memory",
		"services.web.health.type",
		"services.api.command",
		"services.api.port",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("error paths:\n%s\nwant:\n%s\nfull error:\n%v", strings.Join(got, "\n"), strings.Join(want, "\n"), err)
	}
	if lines := strings.Split(err.Error(), "\n"); len(lines) != len(want) {
		t.Errorf("want one error per line of output, got:\n%v", err)
	}
	var first *fleetfile.Error
	if !errors.As(err, &first) || first.Line != 6 {
		t.Errorf("errors.As should find the first error, at line 6; got %v", first)
	}
}

func TestErrorsIgnoresErrorsFromElsewhere(t *testing.T) {
	if got := fleetfile.Errors(errors.New("disk on fire")); got != nil {
		t.Errorf("Errors of a foreign error = %v, want nil", got)
	}
	if got := fleetfile.Errors(nil); got != nil {
		t.Errorf("Errors(nil) = %v, want nil", got)
	}
}

func TestABrokenServiceIsReportedOnceNotAgainByItsDependents(t *testing.T) {
	data := `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    depends_on: [db]
  db:
`
	_, err := fleetfile.Parse("shop/fleet.yaml", []byte(strings.TrimPrefix(data, "\n")))
	errs := fleetfile.Errors(err)
	if len(errs) != 1 || errs[0].Path != "services.db" {
		t.Errorf("want only the error about db itself, got:\n%v", err)
	}
}
