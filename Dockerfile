# Multi-stage build: compile with the Rust toolchain, run on a slim Debian as a
# non-root user. The policy file is compiled in; mount another and set SHOPSCORE_POLICY.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
COPY policy ./policy
RUN cargo build --release --locked --bin shopscore

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home shopscore
COPY --from=build /src/target/release/shopscore /usr/local/bin/shopscore
USER 10001
ENV SHOPSCORE_LISTEN=0.0.0.0:8080 SHOPSCORE_LOG=json
EXPOSE 8080
HEALTHCHECK CMD ["/bin/sh", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080"]
ENTRYPOINT ["shopscore"]
CMD ["serve"]
