# sigil-integrity-exporter container image: a static binary on distroless,
# running as the unprivileged user 65532. No key, DSN or other secret is
# built in: mount them at run time (see deploy/kubernetes/).
#
#   docker build -t sigil-integrity-exporter \
#     --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg REVISION=$(git rev-parse HEAD) \
#     --build-arg BRANCH=$(git rev-parse --abbrev-ref HEAD) .
#   docker run --rm -p 9961:9961 -v /var/lib/sigil/db:/data:ro \
#     -v sigil-integrity:/var/lib/sigil-integrity \
#     sigil-integrity-exporter --store.leveldb.path=/data

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG REVISION=unknown
ARG BRANCH=unknown
ARG BUILD_DATE=unknown
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w \
        -X github.com/prometheus/common/version.Version=${VERSION} \
        -X github.com/prometheus/common/version.Revision=${REVISION} \
        -X github.com/prometheus/common/version.Branch=${BRANCH} \
        -X github.com/prometheus/common/version.BuildUser=docker \
        -X github.com/prometheus/common/version.BuildDate=${BUILD_DATE}" \
      -o /out/sigil-integrity-exporter ./exporter \
 && mkdir -p /out/var/lib/sigil-integrity/reports /out/var/lib/sigil-integrity/state

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/sigil-integrity-exporter /bin/sigil-integrity-exporter
# The working directory holds ./reports and ./state (the defaults of
# --report.dir and --state.path); mount a volume here to keep them.
COPY --from=build --chown=65532:65532 /out/var/lib/sigil-integrity /var/lib/sigil-integrity
WORKDIR /var/lib/sigil-integrity
USER 65532:65532
EXPOSE 9961
ENTRYPOINT ["/bin/sigil-integrity-exporter"]
