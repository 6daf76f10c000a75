package fleetfile_test

import (
	"slices"
	"testing"
)

func TestEgressReachesNothingUnlessOptedInto(t *testing.T) {
	for _, tc := range []struct {
		egress   string
		ports    []int
		internet bool
	}{
		{"", nil, false},
		{"egress: {}", nil, false},
		{"egress: {host_ports: [5432, 6379]}", []int{5432, 6379}, false},
		{"egress: {internet: true}", nil, true},
		{"egress: {host_ports: [5432], internet: false}", []int{5432}, false},
	} {
		f := mustParse(t, "/srv/shop/fleet.yaml", `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    `+tc.egress+`
`)
		eg := f.Service("web").Egress
		if !slices.Equal(eg.HostPorts, tc.ports) || eg.Internet != tc.internet {
			t.Errorf("%q gives %+v, want host ports %v internet %v", tc.egress, eg, tc.ports, tc.internet)
		}
	}
}

func TestUserDataIsKeptAsWritten(t *testing.T) {
	f := mustParse(t, "/srv/shop/fleet.yaml", `
services:
  web:
    image: {binary: ./web}
    command: [/web]
    port: 8080
    user_data: |
      #!/bin/sh
      echo hello
`)
	if got := f.Service("web").UserData; got != "#!/bin/sh\necho hello\n" {
		t.Fatalf("user data %q", got)
	}
}
