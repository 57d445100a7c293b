# guidebot in a container: built with the Rust image, run from a small Debian
# image as an unprivileged user. `docker run IMAGE` runs `guidebot bot`;
# `docker run IMAGE check` (or any other subcommand) runs that instead.
#
#   docker build -t guidebot .
#   docker run -e TELOXIDE_TOKEN=... -v guidebot-data:/data guidebot
#
# See deploy/README.md for webhook mode, replicas and PostgreSQL.

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-slim-bookworm AS build
WORKDIR /src
# The manifest names the benches, so cargo wants them present to build at all.
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin guidebot \
    && cp target/release/guidebot /usr/local/bin/guidebot

FROM debian:bookworm-slim
# CA certificates for HTTPS to the Bot API (rustls reads the system's roots).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin guidebot \
    && mkdir -p /data \
    && chown guidebot:guidebot /data \
    && chmod 0700 /data
COPY --from=build /usr/local/bin/guidebot /usr/local/bin/guidebot
COPY dialogues /app/dialogues
WORKDIR /app
ENV GUIDEBOT_DIALOGUES=/app/dialogues \
    GUIDEBOT_DATA=/data \
    RUST_LOG=guidebot=info
# The sled store (the default) keeps progress and keys here.
VOLUME ["/data"]
# Webhook requests (--listen) and /healthz, /readyz, /metrics (--metrics-listen),
# when those are set, e.g. GUIDEBOT_LISTEN=0.0.0.0:8080 GUIDEBOT_METRICS_LISTEN=0.0.0.0:9090.
EXPOSE 8080 9090
USER 10001:10001
ENTRYPOINT ["guidebot"]
CMD ["bot"]
