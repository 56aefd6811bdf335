# syntax=docker/dockerfile:1
#
# esacert in a container: a static binary on a small non-root image.
#
#   docker build -t esacert .
#   docker run -d --name esacert -v esacert-data:/var/lib/esacert \
#     -p 127.0.0.1:8787:8787 -p 443:8443 -p 443:8443/udp -p 80:8080 esacert
#   docker exec esacert cat /var/lib/esacert/root-access-key   # the root key
#   docker exec esacert esacert api ListSites                  # signed with it, from inside
#
# Settings are the ESACERT_* environment variables (or flags after the image name, such as
# "serve --roles edge"); see the README's Configuration table. The API listens on every address of
# the container: publish it only where its clients are.

# Build stage: the module and build caches persist between builds (BuildKit cache mounts), and
# go.mod/go.sum are copied first so that a source change does not download the modules again.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY cmd ./cmd
COPY internal ./internal
ARG VERSION=dev
# SQLite is pure Go (modernc.org/sqlite): no cgo, so the binary is static.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/esacert ./cmd/esacert

# Runtime stage: CA roots (ACME CAs, DNS providers), time zones, busybox wget for the health check.
FROM alpine:3
RUN apk add --no-cache ca-certificates tzdata \
    && addgroup -S -g 10001 esacert \
    && adduser -S -D -H -u 10001 -G esacert -h /var/lib/esacert -s /sbin/nologin esacert \
    && install -d -m 0700 -o esacert -g esacert /var/lib/esacert
COPY --from=build /out/esacert /usr/local/bin/esacert

# The data directory (SQLite database, root access key, master key, edge snapshot): a volume, owned
# by the esacert user with mode 0700 (a new named volume takes both from the image).
ENV ESACERT_DATA=/var/lib/esacert \
    ESACERT_API_ADDR=0.0.0.0:8787 \
    ESACERT_HTTPS_ADDR=:8443 \
    ESACERT_HTTP_ADDR=:8080
VOLUME ["/var/lib/esacert"]
WORKDIR /var/lib/esacert
USER esacert:esacert

# 8787 the OpenAPI endpoint (and /healthz), 8443 the edge's HTTPS (over UDP: HTTP/3), 8080 its plain
# HTTP (ACME HTTP-01 needs port 80 of the host forwarded to it).
EXPOSE 8787 8443 8443/udp 8080

# /healthz on the API's port (taken from ESACERT_API_ADDR): 503 while the database cannot be reached.
# A node without the api role, or with --api-tls-cert, needs its own check (docker run --no-healthcheck).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD wget -q -O /dev/null "http://127.0.0.1:${ESACERT_API_ADDR##*:}/healthz" || exit 1

# SIGTERM (docker stop) shuts the node down cleanly; it may take up to 15 s, so give docker stop -t 20.
ENTRYPOINT ["/usr/local/bin/esacert"]
CMD ["serve"]
