# A static binary on distroless: nothing else runs in the container.
# No USER line: GitHub runs container actions as root so they can write the
# runner's file commands (GITHUB_OUTPUT, GITHUB_ENV, GITHUB_STATE).
# Pinned to the toolchain go.mod names; pin digests with Renovate in a
# release pipeline that can resolve them.
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/buildrole/buildrole/internal/cli.Version=${VERSION}" \
      -o /out/buildrole ./cmd/buildrole \
 && ln -s buildrole /out/buildrole-up && ln -s buildrole /out/buildrole-down

FROM gcr.io/distroless/static-debian12
COPY --from=build /out/ /
ENTRYPOINT ["/buildrole"]
