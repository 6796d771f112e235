# syntax=docker/dockerfile:1
# Multi-stage build: `build` compiles the workspace (and is the `test` service's image),
# `runtime` is the small image of the `api` and `projector` services.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p shareholders

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/shareholders --create-home shareholders
COPY --from=build /src/target/release/shareholders /usr/local/bin/shareholders
USER shareholders
WORKDIR /var/lib/shareholders
ENV SHAREHOLDERS_DATA_DIR=/var/lib/shareholders/data
EXPOSE 8080
ENTRYPOINT ["shareholders"]
CMD ["serve"]
