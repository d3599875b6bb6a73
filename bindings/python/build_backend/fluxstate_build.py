# SPDX-License-Identifier: MIT
"""A PEP 517 / PEP 660 build backend in the standard library only.

The package is pure Python (ctypes loads libfluxstate at run time), so a
wheel is just a zip of fluxstate/ plus metadata.  Keeping the backend here
means `pip install` needs no download and no setuptools.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import tarfile
import time
import zipfile
from typing import Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "fluxstate"
TAG = "py3-none-any"


def _project() -> Dict[str, str]:
    """The few [project] keys we need, read without tomllib (3.11+)."""
    with open(os.path.join(HERE, "pyproject.toml"), encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"^\[project\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
    if not m:
        raise RuntimeError("pyproject.toml has no [project] table")
    keys = {}
    for k in ("name", "version", "description", "requires-python"):
        km = re.search(r'^%s\s*=\s*"([^"]*)"' % re.escape(k), m.group(1), re.M)
        if not km:
            raise RuntimeError(f"pyproject.toml: [project] {k} missing")
        keys[k] = km.group(1)
    return keys


def _metadata() -> str:
    p = _project()
    with open(os.path.join(HERE, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    return (
        "Metadata-Version: 2.1\n"
        f"Name: {p['name']}\n"
        f"Version: {p['version']}\n"
        f"Summary: {p['description']}\n"
        "License: MIT\n"
        f"Requires-Python: {p['requires-python']}\n"
        "Classifier: Programming Language :: Python :: 3\n"
        "Classifier: Typing :: Typed\n"
        "Description-Content-Type: text/markdown\n"
        "\n" + readme)


def _dist_info() -> str:
    p = _project()
    return f"{p['name']}-{p['version']}.dist-info"


def _sources() -> List[str]:
    out = []
    for name in sorted(os.listdir(os.path.join(HERE, PACKAGE))):
        if name.endswith(".py") or name == "py.typed":
            out.append(f"{PACKAGE}/{name}")
    return out


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def _write_wheel(wheel_directory: str, files: List[Tuple[str, bytes]]) -> str:
    p = _project()
    di = _dist_info()
    files = list(files) + [
        (f"{di}/METADATA", _metadata().encode("utf-8")),
        (f"{di}/WHEEL", (f"Wheel-Version: 1.0\nGenerator: fluxstate_build\n"
                         f"Root-Is-Purelib: true\nTag: {TAG}\n").encode()),
        (f"{di}/top_level.txt", f"{PACKAGE}\n".encode()),
    ]
    record = [_record_line(n, d) for n, d in files] + [f"{di}/RECORD,,"]
    files.append((f"{di}/RECORD", ("\n".join(record) + "\n").encode()))
    name = f"{p['name']}-{p['version']}-{TAG}.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in files:
            zi = zipfile.ZipInfo(n, date_time=(1980, 1, 1, 0, 0, 0))
            zi.external_attr = 0o644 << 16
            z.writestr(zi, d)
    return name


def get_requires_for_build_wheel(config_settings: Optional[dict] = None) -> List[str]:
    return []


def get_requires_for_build_sdist(config_settings: Optional[dict] = None) -> List[str]:
    return []


def get_requires_for_build_editable(config_settings: Optional[dict] = None) -> List[str]:
    return []


def build_wheel(wheel_directory: str, config_settings: Optional[dict] = None,
                metadata_directory: Optional[str] = None) -> str:
    files = []
    for rel in _sources():
        with open(os.path.join(HERE, rel), "rb") as f:
            files.append((rel, f.read()))
    return _write_wheel(wheel_directory, files)


def build_editable(wheel_directory: str, config_settings: Optional[dict] = None,
                   metadata_directory: Optional[str] = None) -> str:
    # PEP 660: a .pth file that puts this directory on sys.path.
    return _write_wheel(wheel_directory, [(f"{PACKAGE}.pth", (HERE + "\n").encode())])


def build_sdist(sdist_directory: str, config_settings: Optional[dict] = None) -> str:
    p = _project()
    base = f"{p['name']}-{p['version']}"
    members = ["pyproject.toml", "README.md", "build_backend/fluxstate_build.py"] + _sources()
    for name in sorted(os.listdir(os.path.join(HERE, "tests"))):
        if name.endswith(".py"):
            members.append(f"tests/{name}")
    path = os.path.join(sdist_directory, base + ".tar.gz")
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        pkg_info = _metadata().encode("utf-8")
        ti = tarfile.TarInfo(f"{base}/PKG-INFO")
        ti.size, ti.mtime, ti.mode = len(pkg_info), int(time.time()), 0o644
        tar.addfile(ti, io.BytesIO(pkg_info))
        for rel in members:
            tar.add(os.path.join(HERE, rel), arcname=f"{base}/{rel}", recursive=False)
    return base + ".tar.gz"
