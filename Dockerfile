# SPDX-License-Identifier: MIT
# sigmoed in a container: build on Debian bookworm, run on bookworm-slim
# with only the runtime libraries, as an unprivileged user.
#
#   docker build -t sigmoe .
#   docker run -p 8080:8080 -v $PWD/models:/models:ro sigmoe

FROM debian:bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      meson ninja-build pkg-config gcc libc6-dev \
      libmicrohttpd-dev libcjson-dev libopenblas-dev nettle-dev \
      libinih-dev libcsv-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN meson setup /build --buildtype=release --prefix=/usr \
      -Dtests=disabled -Dbundled_models=/models \
 && ninja -C /build \
 && install -D -m 0755 /build/server/sigmoed /out/usr/bin/sigmoed \
 && install -D -m 0755 /build/cli/sigmoe /out/usr/bin/sigmoe \
 && mkdir -p /out/models \
 && cp models/*.json /out/models/

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libmicrohttpd12 libcjson1 libopenblas0-pthread libnettle8 \
      libinih1 libcsv3 \
 && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin \
      sigmoe
COPY --from=build /out/ /
ENV SIGMOED_LISTEN=0.0.0.0:8080 \
    SIGMOED_MODELS=/models \
    SIGMOED_LOG_FORMAT=json \
    OPENBLAS_NUM_THREADS=1
USER 10001:10001
EXPOSE 8080
VOLUME ["/models"]
STOPSIGNAL SIGTERM
# bash's /dev/tcp keeps curl out of the image.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/bin/bash", "-c", "port=${SIGMOED_LISTEN##*:}; exec 3<>/dev/tcp/127.0.0.1/$port && printf 'GET /v2/health/live HTTP/1.0\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["/usr/bin/sigmoed"]
