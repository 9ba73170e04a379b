#!/usr/bin/env bash
# make image: build MailPass's image from the Dockerfile, unchanged.
#   With a Docker engine that answers: docker build.
#   Without one (these machines): podman (runc, cgroupfs, host network), on a base made
#   with debootstrap from the machine's own Debian mirror (python3, venv, pip and the
#   machine's CA bundle), imported once as $IMAGE_BASE and given as PYTHON_IMAGE.
# IMAGE (default localhost/mailpass:<version in pyproject.toml>) names the result; its
# size is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -n 1)
IMAGE=${IMAGE:-localhost/mailpass:$version}
IMAGE_BASE=${IMAGE_BASE:-localhost/mailpass-base:bookworm}

if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  docker build -t "$IMAGE" .
  docker image inspect --format 'size: {{.Size}} bytes' "$IMAGE"
  exit 0
fi

scripts/debian-packages.sh podman:podman debootstrap:debootstrap runc:runc
podman=(podman --runtime runc --cgroup-manager=cgroupfs)

if ! "${podman[@]}" image exists "$IMAGE_BASE"; then
  # The mirror apt already uses on this machine (no host is written down here).
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$mirror" ] || mirror=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list)
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  echo "Making the base image $IMAGE_BASE with debootstrap (a few minutes, once)..." >&2
  debootstrap --variant=minbase \
    --include=python3,python3-venv,python3-pip,python-is-python3,ca-certificates \
    bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
  # The machine's CA bundle: pip inside the build reaches the package index as pip here does.
  cp /etc/ssl/certs/ca-certificates.crt "$work/rootfs/etc/ssl/certs/ca-certificates.crt"
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  tar -C "$work/rootfs" -c . | "${podman[@]}" import \
    --change 'ENV PIP_BREAK_SYSTEM_PACKAGES=1' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["python3"]' - "$IMAGE_BASE" >/dev/null
fi

"${podman[@]}" build --network=host \
  --ulimit nofile=1024:20000 --ulimit nproc=1024:1024 \
  --build-arg PYTHON_IMAGE="$IMAGE_BASE" -t "$IMAGE" .
"${podman[@]}" image inspect --format 'size: {{.Size}} bytes' "$IMAGE"
