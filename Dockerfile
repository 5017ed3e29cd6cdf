# syntax=docker/dockerfile:1
#
# One image with the three services of the services mode: dtm, flashsale and
# orders, in /usr/local/bin. Each docker-compose.yml service chooses which one
# to run with its command.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ \
        ./dtmconf/cmd/dtm ./flashsale/cmd/flashsale ./orders/cmd/orders

FROM debian:bookworm-slim
COPY --from=build /out/dtm /out/flashsale /out/orders /usr/local/bin/
# http-ok PORT PATH: exit 0 when http://127.0.0.1:PORT/PATH answers 200. The
# compose healthchecks use it; the image has bash but neither curl nor wget.
COPY --chmod=755 <<'EOF' /usr/local/bin/http-ok
#!/bin/bash
exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$2" >&3
read -r -t 3 _ code _ <&3 && [ "$code" = 200 ]
EOF
# dtm writes its dtm.yml into its working directory.
RUN useradd --system --create-home --home-dir /var/lib/flashsale flashsale
USER flashsale
WORKDIR /var/lib/flashsale
