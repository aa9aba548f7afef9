# syntax=docker/dockerfile:1.7
# One image for every service: one static binary, /app/ecsr (cmd/ecsr), that runs each service and the
# migration as `/app/ecsr <command>` (api, worker, migrate), on a distroless, non-root base, with the RDS CA
# bundle for all AWS Regions at /etc/ssl/certs/rds-global-bundle.pem (docs/configuration.md, "Image"); the base's
# own system roots (ca-certificates) serve DATABASE_CA_FILE=system. Multi-arch:
#   docker buildx build --platform linux/arm64,linux/amd64 -t <repo>:<sha> .
# `make images-check` verifies offline what it can: the binary cross-compiles static for both architectures,
# starts every command of infra/services.yaml, the image fits the 25 MB budget compressed (as pushed to ECR and
# pulled by a task), and this file passes the lint rules (internal/tools/imagecheck): one binary, whatever the
# number of services.
#
# Base images are pinned by digest; the tag beside it says what it is. Digests as published for these tags in
# 2026; refresh with `docker buildx imagetools inspect <image>:<tag>` (Dependabot's docker ecosystem does it).
ARG GO_IMAGE=golang:1.26-bookworm@sha256:116d58cbd88c1297624acc6e967a060012422bacf9930927e23fb719189c6f36
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot@sha256:d093aa3e30dbadd3efe1310db061a14da60299baff8450a17fe0ccc514a16639

# The build stage runs on the builder's own platform and cross-compiles for the target: no emulation needed.
FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS build
ARG TARGETOS=linux
ARG TARGETARCH
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/root/go/pkg/mod go mod download
COPY . .
# The CA bundle is committed with its pinned digest (scripts/rds-bundle.sh); a changed or corrupted bundle fails
# the build here.
RUN cd certs && sha256sum -c rds-global-bundle.pem.sha256
RUN --mount=type=cache,target=/root/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w" -o /out/ecsr ./cmd/ecsr

FROM ${RUNTIME_IMAGE}
COPY --from=build /out/ /app/
COPY --from=build /src/certs/rds-global-bundle.pem /etc/ssl/certs/rds-global-bundle.pem
USER nonroot:nonroot
# ECS task definitions choose the command by entry point (/app/ecsr api, /app/ecsr worker, /app/ecsr migrate).
ENTRYPOINT ["/app/ecsr", "api"]
