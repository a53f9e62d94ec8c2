#!/usr/bin/env bash
# Install the Debian packages eventd needs to build, run and test.
# Idempotent: installs only what is missing. Safe to run as root (CI, containers)
# or as a user with sudo.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config clang llvm libclang-rt-14-dev
  libevent-dev libcurl4-openssl-dev libyaml-dev libsqlite3-dev libssl-dev zlib1g-dev
  curl python3 procps iproute2
  libnghttp2-dev libprotobuf-c-dev protobuf-c-compiler python3-grpcio python3-grpc-tools
  nghttp2-client openssl
  librdkafka-dev kcat librabbitmq-dev rabbitmq-server python3-pika python3-fluent-logger
  python3-msgpack libmsgpack-dev libzstd-dev bsdutils python3-elasticsearch
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
