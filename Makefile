GO      ?= go
NPM     ?= npm
NODE    ?= node
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

# Reproducible builds: no cgo, no file system paths (-trimpath), no build id,
# no VCS stamp; the same Go and VERSION give the same bytes anywhere. The
# action's build from source (action/lib.js) and the Dockerfile use the same
# flags.
BUILD_FLAGS = -trimpath -buildvcs=false -ldflags "-s -w -buildid= -X github.com/buildrole/buildrole/internal/cli.Version=$(VERSION)"

# What a release ships, and where release-binaries writes it.
PLATFORMS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64
DIST      ?= dist

# Every workflow we ship, linted by actionlint (pinned in go.mod as a tool).
WORKFLOWS := $(wildcard examples/*.yml .github/workflows/*.yml)

.PHONY: build release-binaries demo test bench fmt fuzz fuzz-short analyse packer-stack

# Static analysis, pinned (fetched through the Go module proxy by go run).
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
DEADCODE    ?= golang.org/x/tools/cmd/deadcode@v0.53.0
# deadcode's roots are the commands, so what only tests call is reported.
# Allowed: fakeaws and testenv (test support: their API serves other
# packages' tests) and String methods (they print values in test failures).
DEADCODE_ALLOWED := internal/(fakeaws|testenv)/|unreachable func: [A-Za-z]+\.String$$

# Fuzz targets: package and target. make test runs each briefly, make fuzz
# longer (FUZZTIME each).
FUZZ_TARGETS := \
	./internal/packertemplate:FuzzLoadHCL \
	./internal/packertemplate:FuzzLoadHCLJSON \
	./internal/packertemplate:FuzzLoadLegacyJSON \
	./internal/run:FuzzStateFromMap \
	./internal/ghaction:FuzzFileCommands \
	./internal/jsonpos:FuzzParse \
	./internal/wiretap:FuzzResponse \
	./internal/iampolicy:FuzzParse \
	./internal/policylint:FuzzLint \
	./internal/csm:FuzzDatagram
FUZZTIME ?= 60s

build:
	CGO_ENABLED=0 GOFLAGS= $(GO) build $(BUILD_FLAGS) -o bin/buildrole ./cmd/buildrole

# One binary per platform, named as action/lib.js asks for them
# (buildrole_1.2.3_linux_amd64, ..._windows_arm64.exe), and SHA256SUMS.
release-binaries:
	@test -n "$(DIST)" || { echo "DIST is empty"; exit 1; }
	rm -rf "$(DIST)" && mkdir -p "$(DIST)"
	@set -e; for p in $(PLATFORMS); do \
	  os=$${p%/*}; arch=$${p#*/}; ext=; [ "$$os" = windows ] && ext=.exe; \
	  out="$(DIST)/buildrole_$(patsubst v%,%,$(VERSION))_$${os}_$${arch}$$ext"; \
	  echo "$$out"; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch GOAMD64=v1 GOARM64=v8.0 GOFLAGS= \
	    $(GO) build $(BUILD_FLAGS) -o "$$out" ./cmd/buildrole; \
	done
	cd "$(DIST)" && LC_ALL=C; export LC_ALL; \
	  if command -v sha256sum >/dev/null; then sha256sum buildrole_*; else shasum -a 256 buildrole_*; fi > SHA256SUMS
	cat "$(DIST)/SHA256SUMS"

# The main job end to end: up and down against the embedded fake AWS.
# The first build compiles buildrole and the AWS SDK: say so rather than
# sit silent for a minute or two.
demo:
	@echo "make demo: compiling buildrole (the first time takes a minute or two on a cold Go cache)..."
	@CGO_ENABLED=0 $(GO) build -o bin/buildrole ./cmd/buildrole
	./bin/buildrole demo

# test/iamsim runs the corpus through an independent IAM evaluator (npm
# @cloud-copilot/iam-simulate, a test tool in its own Node process), installed
# exactly as test/iamsim/package-lock.json pins it.
# Drives Debian's packer too: apt-get install packer.
# BUILDROLE_TEST_REQUIRE=1 makes a Go test whose tool (node, these npm
# packages, make, packer) is missing fail; plain go test skips it.
#
# gofmt, go vet, staticcheck, deadcode, actionlint, every Go test with the
# race detector (cgo: it needs a C compiler), the action's JavaScript tests,
# and each fuzz target briefly.
test:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(MAKE) --no-print-directory analyse
	$(GO) tool actionlint $(WORKFLOWS)
	cd test/iamsim && $(NPM) ci --no-audit --no-fund --loglevel=error
	$(MAKE) --no-print-directory packer-stack
	BUILDROLE_TEST_REQUIRE=1 $(GO) test -race -count=1 -timeout 20m ./...
	$(NODE) --test action/test/*.test.js
	$(MAKE) --no-print-directory fuzz-short

# packer 1.9.5 and packer-plugin-amazon 1.8.2 (amazon-ebs on the AWS SDK for
# Go v2), which the exec tests drive: built once from the Go module proxy
# into the user's cache directory (minutes on two cores), then reused.
packer-stack:
	BUILDROLE_TEST_REQUIRE=1 $(GO) test -count=1 -timeout 60m -run '^TestPackerStack$$' ./internal/testenv

# staticcheck's findings, and code nothing but tests reaches, fail the build.
analyse:
	$(GO) run $(STATICCHECK) ./...
	@out=$$($(GO) run $(DEADCODE) ./...) || exit 1; \
	  dead=$$(printf '%s\n' "$$out" | grep -Ev '$(DEADCODE_ALLOWED)'); \
	  if [ -n "$$dead" ]; then echo "unreachable outside tests (remove it, or move it into the tests that use it):"; echo "$$dead"; exit 1; fi

fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=300x

# Minimizing a new input can take a worker a minute; a bounded run should
# spend its time finding inputs instead.
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t##*:}; \
	  echo "fuzz $$pkg $$name ($(FUZZTIME))"; \
	  $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg; \
	done

# What users wait for, end to end and in-process against fakeaws: up over
# IAM propagation P x round trip L, down and sweep, each beside the physical
# minimum and a baseline in the same run; then a burst of 60 runs against an
# IAM that admits 10 calls a second; then a job end to end (up, other work,
# the build's first EC2 call) with exec serving credentials and with up
# waiting; then exec's proxy: its cost per call and per packer build. Prints
# the tables (about 8 minutes); go test's own lines
# only when it fails.
bench:
	@table=$$(mktemp) && log=$$(mktemp) && \
	if $(GO) test -run '^$$' -bench '^BenchmarkUsersWait$$' -benchtime 3x -count 1 -timeout 30m \
	    ./internal/cli/ -args -bench-table "$$table" >"$$log" 2>&1 && \
	  $(GO) test -run '^$$' -bench '^BenchmarkBurst$$' -benchtime 1x -count 1 -timeout 30m \
	    ./internal/cli/ -args -bench-table "$$table" >>"$$log" 2>&1 && \
	  $(GO) test -run '^$$' -bench '^BenchmarkJobTime$$' -benchtime 1x -count 1 -timeout 30m \
	    ./internal/cli/ -args -bench-table "$$table" >>"$$log" 2>&1; \
	then cat "$$table"; rm -f "$$table" "$$log"; \
	else cat "$$log"; rm -f "$$table" "$$log"; exit 1; fi
	@table=$$(mktemp) && log=$$(mktemp) && \
	if $(GO) test -run '^$$' -bench '^BenchmarkExecProxy$$' -benchtime 1x -count 1 -timeout 10m \
	    ./internal/cli/ -args -exec-bench-table "$$table" >"$$log" 2>&1; \
	then echo; cat "$$table"; rm -f "$$table" "$$log"; \
	else cat "$$log"; rm -f "$$table" "$$log"; exit 1; fi

fmt:
	gofmt -w $$(git ls-files '*.go')
