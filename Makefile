# vmfleet: `make demo` and `make test` set up the host themselves.
GO       ?= go
BIN      := bin
GOFLAGS  := -trimpath
LDFLAGS  := -s -w
export CGO_ENABLED := 0

.PHONY: all build setup demo test unit integration bench vet clean

all: build

build:
	$(GO) build $(GOFLAGS) -ldflags='$(LDFLAGS)' -o $(BIN)/vmfleet ./cmd/vmfleet
	$(GO) build $(GOFLAGS) -ldflags='$(LDFLAGS)' -o $(BIN)/vmfleet-init ./cmd/vmfleet-init
	$(GO) build $(GOFLAGS) -ldflags='$(LDFLAGS)' -o $(BIN)/hello ./testdata/hello
	$(GO) build $(GOFLAGS) -ldflags='$(LDFLAGS)' -o $(BIN)/imdsclient ./testdata/imdsclient

# Installs QEMU, libvirt, e2fsprogs and the guest kernel if missing, and
# starts libvirtd and virtlogd where no init system does.
setup:
	bash scripts/setup-host.sh

demo: setup build
	bash scripts/demo.sh

vet:
	$(GO) vet ./...

unit:
	$(GO) test -count=1 ./...

# Everything, integration tests with real VMs included (VMFLEET_INTEGRATION
# makes a missing libvirtd a failure instead of a skip).
test: setup vet
	VMFLEET_INTEGRATION=1 $(GO) test -count=1 -timeout 40m ./...

bench: setup build
	$(GO) test -run '^$$' -bench . -benchmem -count 6 ./pkg/image/ ./pkg/balancer/ ./pkg/metrics/ ./pkg/autoscale/ ./pkg/store/

clean:
	rm -rf $(BIN)
