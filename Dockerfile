# syntax=docker/dockerfile:1
# tollgate in a container: a static binary on distroless, run as non-root.
#   docker build -t tollgate .
#   docker run --rm -p 8080:8080 tollgate        # test mode, embedded SQLite in /data
#   docker compose up                            # with PostgreSQL (compose.yaml)

# Build: CGO_ENABLED=0 makes a static binary (the SQLite driver is pure Go,
# modernc.org/sqlite), so the runtime image needs no libc. The .git folder is
# part of the context, so go build stamps the VCS revision that
# `tollgate version` prints. cmd/tollgate's TestBinaryAsTheDockerfileBuildsIt
# builds with this same command.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -buildvcs=auto -trimpath -ldflags="-s -w" -o /out/tollgate ./cmd/tollgate \
 && mkdir -p /out/data

# Run: distroless static (CA certificates and tzdata, no shell), as the
# image's nonroot user (65532). The working directory /data holds the
# embedded store (sqlite:tollgate.db) when no TOLLGATE_DATABASE_URL is given.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tollgate /tollgate
COPY --from=build --chown=65532:65532 /out/data /data
WORKDIR /data
USER 65532:65532
ENV TOLLGATE_LISTEN=0.0.0.0:8080
EXPOSE 8080
VOLUME /data
ENTRYPOINT ["/tollgate"]
CMD ["serve"]
