# Multi-stage build. Stage `build` compiles with the Rust toolchain; stage `runtime`
# (the default, last) runs it on slim Debian as a non-root user. Stage `prebuilt` is
# the same runtime around a binary compiled outside and placed at
# .container/shopscore: CI tests the image that way with the binary it has already
# built (scripts/container-test --prebuilt …). The policy and migrations are compiled
# in; mount another policy and set SHOPSCORE_POLICY to change it.
FROM rust:1.95-bookworm AS build
# Set to true to build from a mounted crate cache without a registry (scripts/container-test).
ARG CARGO_NET_OFFLINE=false
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# The manifest declares the benches, so cargo needs their files even to build the binary.
COPY benches ./benches
COPY migrations ./migrations
COPY policy ./policy
RUN cargo build --release --locked --bin shopscore

FROM debian:bookworm-slim AS base
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin shopscore
USER 10001
ENV SHOPSCORE_LISTEN=0.0.0.0:8080 SHOPSCORE_LOG=json
EXPOSE 8080
# `shopscore healthcheck` asks the server's /readyz (ready = the database answers).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 CMD ["shopscore", "healthcheck"]
ENTRYPOINT ["shopscore"]
CMD ["serve"]

FROM base AS prebuilt
COPY .container/shopscore /usr/local/bin/shopscore

FROM base AS runtime
COPY --from=build /src/target/release/shopscore /usr/local/bin/shopscore
