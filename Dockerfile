# perch: build stage, then a slim runtime image.
#   docker build -t perch .
#   docker run -d --name perch \
#     -v perch-data:/var/lib/perch \
#     -v "$PWD/perch.toml:/etc/perch/perch.toml:ro" \
#     --env-file perch.env \
#     perch
# The config must set service.data_dir = "/var/lib/perch" and
# service.health_addr = "0.0.0.0:8080" (the health check calls that port).

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ pkg-config \
 && rm -rf /var/lib/apt/lists/*
COPY Cargo.toml Cargo.lock ./
COPY src ./src
RUN cargo build --release --locked --bin perch

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/perch --create-home perch
COPY --from=build /src/target/release/perch /usr/local/bin/perch
COPY bot-config/perch.example.toml /etc/perch/perch.example.toml
USER perch
WORKDIR /var/lib/perch
VOLUME ["/var/lib/perch"]
ENV PERCH_CONFIG=/etc/perch/perch.toml
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=15s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["perch"]
CMD ["run"]
