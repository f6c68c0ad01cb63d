# perch: build stage, then a slim runtime image.
#   docker build -t perch .
#   docker run -d --name perch -p 8080:8080 \
#     -v perch-data:/var/lib/perch \
#     -v "$PWD/perch.toml:/etc/perch/perch.toml:ro" \
#     --env-file perch.env \
#     perch
# The config must set service.data_dir = "/var/lib/perch" and a
# service.health_addr reachable from outside the container, such as
# "0.0.0.0:8080" (publish it with -p 8080:8080 to reach /healthz; the
# health check asks `perch health`, which reads the port from the config).

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
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/perch --create-home perch
COPY --from=build /src/target/release/perch /usr/local/bin/perch
COPY bot-config/perch.example.toml /etc/perch/perch.example.toml
USER perch
WORKDIR /var/lib/perch
VOLUME ["/var/lib/perch"]
ENV PERCH_CONFIG=/etc/perch/perch.toml
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["perch", "health"]
ENTRYPOINT ["perch"]
CMD ["run"]
