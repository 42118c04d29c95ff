# Builds hpcalc as a static binary and runs it as a non-root user.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/hpcalc ./cmd/hpcalc

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/hpcalc /usr/local/bin/hpcalc
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/hpcalc"]
CMD ["replay"]
