# Build stage: compile the release binary.
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY migrations migrations
COPY fixtures fixtures
RUN cargo build --release --locked --bin plio

# Runtime stage: the binary, the fixtures and the entrypoint.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /app plio
WORKDIR /app
COPY --from=build /src/target/release/plio /usr/local/bin/plio
COPY fixtures fixtures
COPY entrypoint.sh entrypoint.sh
ENV BIND=0.0.0.0:8001 \
    MEDIA_ROOT=/app/media
RUN mkdir -p /app/media && chown plio /app/media
USER plio
EXPOSE 8001
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD curl -fsS http://127.0.0.1:8001/healthz || exit 1
ENTRYPOINT ["./entrypoint.sh"]
