# Build stage: the toolchain and the C sources of SQLite, libpq and OpenSSL are all bundled crates.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
COPY migrations ./migrations
COPY openapi ./openapi
COPY benches ./benches
COPY tests ./tests
RUN cargo build --release --locked --bin motcua

# Runtime stage: only the binary (migrations and Swagger UI are embedded in it).
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/motcua --create-home motcua
COPY --from=build /src/target/release/motcua /usr/local/bin/motcua
USER motcua
WORKDIR /var/lib/motcua
ENV MOTCUA_BIND=0.0.0.0:8080 \
    MOTCUA_LOG_FORMAT=json \
    DATABASE_URL=/var/lib/motcua/data/motcua.db
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["motcua"]
CMD ["serve"]
