# hpcalc in a container: a static binary (pure-Go SQLite, no cgo) on distroless, run as
# the non-root user 65532. The default command is `serve` on the SQLite database in the
# volume /data; every other command (`token create`, `replay`, `audit`, `migrate`) runs
# against the same database when given as the container's command, because DATABASE_URL
# names it. README.md "Docker" says how to get the first admin token.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/hpcalc ./cmd/hpcalc && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/hpcalc /usr/local/bin/hpcalc
# A named volume mounted here starts as this directory: owned by the non-root user.
COPY --from=build --chown=65532:65532 /out/data /data
USER nonroot:nonroot
VOLUME /data
ENV DATABASE_URL=/data/hpcalc.db \
    HPCALC_ADDR=0.0.0.0:8080 \
    HPCALC_LOG_FORMAT=json
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/hpcalc"]
CMD ["serve"]
