# MILogin container image: one static binary on an empty base image.
#
#   docker build -t milogin .
#   docker run -p 8080:8080 -v milogin-data:/data -e MILOGIN_BASE_URL=https://login.example.gov milogin
#
# The build stage compiles without cgo (the SQLite driver is pure Go), so the
# binary needs no C library and runs FROM scratch. The final image holds only
# the binary, the CA certificates (SMTP over TLS, the SMS provider,
# back-channel logout) and the time-zone database (--mfa-time-zone).
# TestDockerfile (dockerfile_test.go) checks what can be checked without a
# Docker daemon.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/milogin ./cmd/milogin
# The data folder, owned by the unprivileged user (scratch has no shell to
# create it later).
RUN mkdir -p /out/data

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /usr/share/zoneinfo /usr/share/zoneinfo
COPY --from=build /out/milogin /milogin
COPY --from=build --chown=65532:65532 /out/data /data
# A numeric user: scratch has no /etc/passwd to name one.
USER 65532:65532
ENV MILOGIN_ADDR=0.0.0.0:8080 \
    MILOGIN_DATA=/data \
    MILOGIN_METRICS_ADDR=0.0.0.0:9090
# The SQLite database and the generated key-encryption key live here. With
# PostgreSQL (MILOGIN_DB) and MILOGIN_KEK set, the volume holds nothing.
VOLUME ["/data"]
# 8080 is the public listener (behind the TLS load balancer); publish 9090
# (/metrics, /debug/pprof/) only on the operations network.
EXPOSE 8080 9090
# No shell in scratch: the binary checks itself (GET /readyz on MILOGIN_ADDR).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["/milogin", "healthcheck"]
ENTRYPOINT ["/milogin"]
CMD ["serve"]
