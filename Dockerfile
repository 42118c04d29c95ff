# Builds hpcalc as a static binary and runs `hpcalc serve` as a non-root user.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/hpcalc ./cmd/hpcalc && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/hpcalc /usr/local/bin/hpcalc
# The embedded SQLite database lives here unless DATABASE_URL names PostgreSQL.
COPY --from=build --chown=65532:65532 /out/data /data
USER nonroot:nonroot
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/hpcalc"]
CMD ["serve", "--addr", "0.0.0.0:8080", "--database-url", "/data/hpcalc.db", "--log-format", "json"]
