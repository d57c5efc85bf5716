# mlgate image: `mlgate` built with cgo (ONNX flavor) and ONNX Runtime 1.24.1
# on a slim Debian runtime, running as a non-root user.
#
#   docker build -t mlgate .
#   docker run -p 8080:8080 -v $PWD/examples/models/linear:/opt/ml/model:ro mlgate
#   docker run -p 5000:5000 mlgate server --host 0.0.0.0 --backend-store-uri postgresql://...
#
# Probes (see docs/deploy.md):
#   mlgate models serve: readiness GET /v2/health/ready (or /ping, /health: 503 while
#                        loading and while draining), liveness GET /v2/health/live;
#                        metrics GET /metrics.
#   mlgate server:       GET /health ("OK"), GET /version; metrics GET /metrics.
#
# Its user (65532), paths and ports are those of the daemonless runtime base
# (`make image`, docs/images.md), so the Helm charts fit either image.
# docs/deploy.md describes the image; deploy/dockerfile_test.go checks this
# file (parse, COPY sources, the build command of `make build`, the ONNX
# Runtime version of scripts/onnxruntime.sh, non-root user, entrypoint).

FROM golang:1.26.8-bookworm AS build
# npm fetches onnxruntime-node, the same source scripts/onnxruntime.sh uses
# everywhere else (its sha256 is checked by the script).
RUN apt-get update \
 && apt-get install -y --no-install-recommends npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY scripts/onnxruntime.sh scripts/onnxruntime.sh
RUN MLGATE_CACHE=/opt/mlgate scripts/onnxruntime.sh
COPY go.mod go.sum ./
RUN go mod download
COPY artifacts artifacts
COPY cmd cmd
COPY flavors flavors
COPY internal internal
COPY payloads payloads
COPY pkgformat pkgformat
COPY projects projects
COPY registry registry
COPY rest rest
COPY rollout rollout
COPY serve serve
COPY tracking tracking
COPY ui ui
# the build of `make build` (cgo is on: gcc is in the image; the ONNX flavor needs it)
RUN go build -o /out/mlgate ./cmd/mlgate

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 65532 mlgate \
 && useradd --system --uid 65532 --gid 65532 --home-dir /home/mlgate --create-home --shell /usr/sbin/nologin mlgate \
 && mkdir -p /opt/ml/model /var/cache/mlgate \
 && chown 65532:65532 /var/cache/mlgate
COPY --from=build /opt/mlgate/onnxruntime-1.24.1/libonnxruntime.so.1 /usr/lib/mlgate/libonnxruntime.so.1
COPY --from=build /out/mlgate /usr/local/bin/mlgate
ENV LC_ALL=C.UTF-8 \
    ONNXRUNTIME_LIB=/usr/lib/mlgate/libonnxruntime.so.1 \
    MLGATE_CACHE=/var/cache/mlgate \
    HOME=/home/mlgate
USER 65532:65532
WORKDIR /home/mlgate
# 8080: `models serve` as started by CMD (and by KServe); 5000: `mlgate server`.
EXPOSE 8080 5000
ENTRYPOINT ["mlgate"]
# A model baked into the image (or mounted) at /opt/ml/model.
CMD ["models", "serve", "-m", "/opt/ml/model", "--host", "0.0.0.0", "--port", "8080"]
