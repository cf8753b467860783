# Dhikra: a multi-stage build. The runtime image has only the binary, the
# bundled data and config, and a non-root user; the database lives on a volume.
#
#   docker build -t dhikra .
#   docker run -d --name dhikra -e TELOXIDE_TOKEN=... -v dhikra-db:/var/lib/dhikra dhikra
#
# Mount your own events or config over /app/data or /app/config to change them.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin dhikra

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/dhikra --shell /usr/sbin/nologin dhikra \
 && mkdir -p /var/lib/dhikra \
 && chown dhikra:dhikra /var/lib/dhikra
COPY --from=build /src/target/release/dhikra /usr/local/bin/dhikra
COPY data /app/data
COPY config /app/config
WORKDIR /app
ENV DHIKRA_DATABASE=/var/lib/dhikra/dhikra.db
USER dhikra
VOLUME ["/var/lib/dhikra"]
# Health and metrics, when enabled with DHIKRA_OPS_LISTEN=0.0.0.0:9090.
EXPOSE 9090
# `docker stop` sends SIGTERM: the message on the wire is finished and recorded.
STOPSIGNAL SIGTERM
ENTRYPOINT ["dhikra"]
CMD ["run"]
