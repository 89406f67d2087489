# syntax=docker/dockerfile:1
# The buildrole CLI as an image, for `docker run ... sweep` in cron jobs and
# anywhere without the binary. The action itself runs the released binary
# (action.yml, node24); this image is not used by it.
#
# Cross-compiled: the build stage runs on the builder's own platform and Go
# compiles for TARGETARCH, so the arm64 image needs no emulation. The flags
# are the Makefile's release flags: the image's binary is byte for byte the
# release asset buildrole_X.Y.Z_linux_ARCH. Pinned to the toolchain go.mod
# names; a release pipeline that can resolve digests pins them with Renovate.
FROM --platform=$BUILDPLATFORM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
COPY cmd ./cmd
COPY internal ./internal
ARG TARGETOS TARGETARCH
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH GOAMD64=v1 GOARM64=v8.0 GOFLAGS= \
    go build -trimpath -buildvcs=false \
      -ldflags "-s -w -buildid= -X github.com/buildrole/buildrole/internal/cli.Version=${VERSION}" \
      -o /out/buildrole ./cmd/buildrole \
 && ln -s buildrole /out/buildrole-up && ln -s buildrole /out/buildrole-down

# A static binary on distroless: nothing else in the image, no shell. No
# USER line: GitHub runs container actions as root, so that the
# buildrole-up/buildrole-down entry points can write the runner's files
# when someone runs the image as a container action.
FROM gcr.io/distroless/static-debian12
COPY --from=build /out/ /
ENTRYPOINT ["/buildrole"]
