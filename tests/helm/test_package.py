"""`make chart`: the chart packaged as a release publishes it, its image pinned by digest."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
import yaml

from mailpass_dev import chart

DIGEST = "sha256:" + "0123456789abcdef" * 4


def test_the_package_pins_the_image_and_is_indexed(tmp_path: Path) -> None:
    archive = chart.package(DIGEST, tmp_path, version="1.2.3", app_version="1.2.3")
    assert archive.name == "mailpass-1.2.3.tgz"
    images = chart.images_of(archive)
    assert images == {f"ghcr.io/mailpass/mailpass:1.2.3@{DIGEST}"}
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        values = yaml.safe_load(tar.extractfile("mailpass/values.yaml").read())  # type: ignore[union-attr]
    assert values["image"]["digest"] == DIGEST
    assert "mailpass/values.schema.json" in names and "mailpass/files/mailpass-alerts.yaml" in names
    assert not [n for n in names if n.startswith("mailpass/ci/")]
    index = yaml.safe_load((tmp_path / "index.yaml").read_text())
    (entry,) = index["entries"]["mailpass"]
    assert (entry["version"], entry["appVersion"]) == ("1.2.3", "1.2.3")
    # the source chart is left as it was
    assert 'digest: ""' in (chart.CHART / "values.yaml").read_text()


def test_no_digest_no_package(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert chart.main(["--digest", "latest", "--out", str(tmp_path)]) == 1
    assert "no image digest" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_pinning_needs_the_image_digest_value(tmp_path: Path) -> None:
    (tmp_path / "values.yaml").write_text("image:\n  repository: x\n")
    (tmp_path / "Chart.yaml").write_text("version: 0.1.0\n")
    with pytest.raises(SystemExit, match=r"image\.digest"):
        chart.pin(tmp_path, DIGEST, None, None)
