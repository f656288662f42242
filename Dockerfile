# syntax=docker/dockerfile:1
# The one Isthmus image: every Deployment runs it as `isthmus serve customers|catalog|orders|
# finance|gateway` (k8s/). Build: docker build -t isthmus:dev .
#
# Builder: the Rust toolchain CI uses, on Debian 12 like the runtime image (the binary links
# against the builder's glibc: change both together). The protos compile with protox (pure Rust),
# so no protoc is installed; the bundled SQLite and ring build with the image's gcc.
ARG RUST_VERSION=1.95
FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
# Cache mounts keep the crate downloads and the target directory between builds; the binary is
# copied out of the cached target directory in the same step. Debug info is stripped (symbol
# names stay, so a panic's backtrace still names its functions).
ENV CARGO_PROFILE_RELEASE_STRIP=debuginfo
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --package isthmus --bin isthmus \
    && install -D -m 0755 target/release/isthmus /out/isthmus

# Runtime: glibc and libgcc (the binary is linked against Debian 12's), CA certificates and a
# non-root user, nothing else: no shell, no package manager. Nothing is written outside /tmp,
# so the root filesystem can be read-only (the Deployments mount an emptyDir on /tmp).
FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="isthmus" \
      org.opencontainers.image.description="Salesforce <-> NetSuite integration mesh: one binary, every part." \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/isthmus /usr/local/bin/isthmus
# distroless's `nonroot` user, by number so that runAsNonRoot can verify it.
USER 65532:65532
# gateway.listen, then customers, catalog, orders and finance .listen (config defaults).
EXPOSE 8080 50051 50052 50053 50054
ENTRYPOINT ["/usr/local/bin/isthmus"]
CMD ["--help"]
