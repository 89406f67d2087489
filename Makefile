GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/buildrole/buildrole/internal/cli.Version=$(VERSION)

# Every workflow we ship, linted by actionlint (pinned in go.mod as a tool).
WORKFLOWS := $(wildcard examples/*.yml .github/workflows/*.yml)

.PHONY: build demo test bench fmt

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/buildrole ./cmd/buildrole

# The main job end to end: up and down against the embedded fake AWS.
demo:
	$(GO) run ./cmd/buildrole demo

test:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool actionlint $(WORKFLOWS)
	$(GO) test -race -count=1 ./...

# Call counts, critical-path depth and wall time of up and down against
# latency-injected fakeaws, concurrent beside a sequential baseline.
bench:
	$(GO) test -run '^$$' -bench UpDown -benchtime 20x -count 1 ./internal/provision/
	$(GO) test -run '^$$' -bench Sweep -benchtime 3x -count 1 ./internal/provision/

fmt:
	gofmt -w $$(git ls-files '*.go')
