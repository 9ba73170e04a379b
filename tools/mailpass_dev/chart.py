"""``python -m mailpass_dev.chart``: the chart packaged as a release publishes it, with the
image pinned by digest (``make chart``).

A chart that names its image by tag alone runs whatever the tag points at on the day a
node pulls it; a release pins the digest of the image it was tested with. This copies
``deploy/helm/mailpass``, sets ``image.digest`` (and the chart's version and appVersion
when given) in the copy, packages it with Helm's own ``package`` (helm-python-sdk),
renders the archive once to check that every container runs the pinned image, and writes
the repository index (``index.yaml``) beside it, ready to be served or pushed.

The digest is ``--digest``, or the one podman reports for ``--image`` (``make image``
builds ``localhost/mailpass:<appVersion>``). Exit status 1 when no digest is found or
the packaged chart does not pin it.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "mailpass"
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
# What a render needs besides the defaults (the chart refuses to render without them).
REQUIRED_VALUES: dict[str, Any] = {
    "secrets": {
        "secretKey": "package-check-" + "x" * 32,
        "mongodbUrl": "mongodb://mongodb:27017",
        "amqpUrl": "amqp://rabbitmq:5672/",
    }
}


def podman_digest(image: str) -> str | None:
    if shutil.which("podman") is None:
        return None
    done = subprocess.run(
        ["podman", "image", "inspect", "--format", "{{.Digest}}", image],
        capture_output=True,
        text=True,
        timeout=60,
    )
    digest = done.stdout.strip()
    return digest if done.returncode == 0 and DIGEST.match(digest) else None


def pin(chart_dir: Path, digest: str, version: str | None, app_version: str | None) -> None:
    """Set image.digest in the copy's values.yaml (its text, comments kept)."""
    values = chart_dir / "values.yaml"
    text = values.read_text()
    pinned, count = re.subn(
        r'(?m)^(image:\n(?:  .*\n)*?  digest: )""', rf'\g<1>"{digest}"', text, count=1
    )
    if count != 1:
        raise SystemExit("values.yaml has no top-level image.digest to pin")
    values.write_text(pinned)
    meta = chart_dir / "Chart.yaml"
    chart_text = meta.read_text()
    if version:
        chart_text = re.sub(r"(?m)^version: .*$", f"version: {version}", chart_text)
    if app_version:
        chart_text = re.sub(r"(?m)^appVersion: .*$", f'appVersion: "{app_version}"', chart_text)
    meta.write_text(chart_text)


def images_of(archive: Path) -> set[str]:
    with helm.Chart.load_archive(archive.read_bytes()) as chart:
        manifests = chart.render(REQUIRED_VALUES, name="mailpass", namespace="mail")
    images: set[str] = set()
    for source, text in manifests.items():
        if source.endswith("NOTES.txt"):
            continue
        for doc in yaml.safe_load_all(text):
            images |= container_images(doc)
    return images


def container_images(node: Any) -> set[str]:
    """The image of every container and init container anywhere in ``node``."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("containers", "initContainers") and isinstance(value, list):
                found |= {c["image"] for c in value if isinstance(c, dict) and "image" in c}
            else:
                found |= container_images(value)
    elif isinstance(node, list):
        for item in node:
            found |= container_images(item)
    return found


def package(digest: str, out: Path, version: str | None, app_version: str | None) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "mailpass"
        shutil.copytree(CHART, copy, ignore=shutil.ignore_patterns("ci"))
        pin(copy, digest, version, app_version)
        archive = Path(helm.package(copy, destination=out))
    images = images_of(archive)
    if not images or any(not image.endswith("@" + digest) for image in images):
        raise SystemExit(f"{archive.name} does not pin {digest}: {sorted(images)}")
    helm.repo_index_generate(out)
    return archive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--digest", help="the image's digest, sha256:<64 hex>")
    parser.add_argument("--image", help="a local image whose digest podman reports")
    parser.add_argument("--version", help="the chart's version (default: Chart.yaml's)")
    parser.add_argument("--app-version", help="the chart's appVersion (default: Chart.yaml's)")
    parser.add_argument("--out", type=Path, default=ROOT / "dist" / "chart")
    args = parser.parse_args(argv)
    digest = args.digest or (podman_digest(args.image) if args.image else None)
    if not digest or not DIGEST.match(digest):
        print(
            "no image digest: pass --digest sha256:<64 hex>, or --image NAME of an image "
            "podman has (make image builds one)",
            file=sys.stderr,
        )
        return 1
    archive = package(digest, args.out, args.version, args.app_version)
    print(f"{archive} (image pinned at {digest}); index: {args.out / 'index.yaml'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
