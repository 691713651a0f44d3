# SPDX-License-Identifier: MIT
# sigmoed in a container.  The build stage compiles on Debian bookworm;
# the image itself holds only what the daemon runs with: the two
# binaries, the shared libraries they load, bash and sleep (for the
# health check and the Kubernetes preStop hook), the bundled models and
# an unprivileged user.  No package manager, no other shell tools.
#
#   docker build -t sigmoe .
#   docker run -p 8080:8080 -v $PWD/models:/models:ro sigmoe
#
# deploy/README.md has the size, the checks and how to run them.

FROM debian:bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      meson ninja-build pkg-config gcc libc6-dev binutils \
      libmicrohttpd-dev libcjson-dev libopenblas0-pthread \
      libopenblas-pthread-dev nettle-dev libinih-dev libcsv-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN meson setup /build --buildtype=release --prefix=/usr \
      -Dtests=disabled -Dbundled_models=/models \
 && ninja -C /build server/sigmoed cli/sigmoe

# /rootfs becomes the image.  Every library the programs load is copied,
# dereferenced, into the loader's default directory, so that no
# ld.so.cache or alternatives symlink is needed at run time.
RUN set -eu \
 && libdir=$(dirname "$(ldd /bin/sleep | awk '$1 == "libc.so.6" {print $3}')") \
 && mkdir -p /rootfs/usr/bin /rootfs/bin /rootfs/etc /rootfs/tmp \
      /rootfs/models "/rootfs$libdir" \
 && install -m 0755 -s /build/server/sigmoed /build/cli/sigmoe \
      /rootfs/usr/bin/ \
 && cp /bin/bash /bin/sleep /rootfs/bin/ \
 && for lib in $(ldd /rootfs/usr/bin/* /rootfs/bin/* \
                 | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u); do \
      cp -L "$lib" "/rootfs$libdir/$(basename "$lib")"; \
    done \
 && loader=$(ldd /bin/sleep | awk '$1 ~ /^\/.*ld-linux/ {print $1}') \
 && mkdir -p "/rootfs$(dirname "$loader")" \
 && cp -L "$loader" "/rootfs$loader" \
 && chmod 1777 /rootfs/tmp \
 && printf 'root:x:0:0:root:/:/bin/bash\nsigmoe:x:10001:10001:sigmoe:/:/bin/false\n' \
      > /rootfs/etc/passwd \
 && printf 'root:x:0:\nsigmoe:x:10001:\n' > /rootfs/etc/group \
 && cp models/*.json /rootfs/models/ \
 && /rootfs/usr/bin/sigmoe check /rootfs/models/*.json

FROM scratch
COPY --from=build /rootfs/ /
ENV SIGMOED_LISTEN=0.0.0.0:8080 \
    SIGMOED_MODELS=/models \
    SIGMOED_LOG_FORMAT=json \
    OPENBLAS_NUM_THREADS=1 \
    PATH=/usr/bin:/bin
USER 10001:10001
EXPOSE 8080
VOLUME ["/models"]
STOPSIGNAL SIGTERM
# GET /v2/health/live through bash's /dev/tcp, with bash built-ins only.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${SIGMOED_LISTEN##*:} && printf 'GET /v2/health/live HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && read -r -t 2 proto code rest <&3 && [ \"$code\" = 200 ]"]
ENTRYPOINT ["/usr/bin/sigmoed"]
