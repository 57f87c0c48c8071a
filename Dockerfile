# syntax=docker/dockerfile:1
#
# wirewatch in a container: built with the pinned toolchain, run from a
# distroless image (glibc, CA certificates, no shell, no package manager)
# as the unprivileged `nonroot` user, with the database on a volume.
#
#   docker build -t wirewatch .
#   docker run -d --name wirewatch \
#       -v wirewatch-data:/var/lib/wirewatch \
#       -e WIREWATCH__TELEGRAM__TOKEN=... \
#       -p 127.0.0.1:9184:9184 wirewatch
#   docker run --rm -v wirewatch-data:/var/lib/wirewatch wirewatch doctor \
#       --config /etc/wirewatch/wirewatch.toml
#
# Mount your own config over /etc/wirewatch/wirewatch.toml, or override
# keys with WIREWATCH__SECTION__KEY variables.

ARG RUST_VERSION=1.95
ARG DEBIAN=bookworm

FROM rust:${RUST_VERSION}-slim-${DEBIAN} AS build
WORKDIR /src
# Only what the build reads (see .dockerignore). The C compiler that ring,
# the bundled SQLite and mimalloc need is part of the rust image; TLS is
# rustls.
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY migrations migrations
COPY assets assets
COPY config config
COPY benches benches
COPY tests tests
# Caches keep the registry and the build between `docker build`s.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin wirewatch \
    && install -D -m 0755 target/release/wirewatch /out/wirewatch
# The volume's mount point, owned by the runtime user (65532 = nonroot),
# so that a fresh named volume starts writable.
RUN install -d -m 0750 -o 65532 -g 65532 /out/data

FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
COPY --from=build /out/wirewatch /usr/local/bin/wirewatch
COPY --from=build --chown=65532:65532 /out/data /var/lib/wirewatch
COPY config/production.toml /etc/wirewatch/wirewatch.toml
USER nonroot:nonroot
WORKDIR /var/lib/wirewatch
VOLUME ["/var/lib/wirewatch"]
# Logs are JSON on stderr (config `log.format`); the console chat is off.
# /healthz is liveness, /readyz readiness: point the orchestrator's probes
# at them (the image has no shell or curl for a HEALTHCHECK command).
EXPOSE 9184
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/wirewatch"]
CMD ["run", "--config", "/etc/wirewatch/wirewatch.toml"]
