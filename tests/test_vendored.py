"""The front-end files copied from npm (portal/static/vendor/) are exactly those of
MANIFEST.json, unchanged (SHA-256), each package with its licence; and what the
pages load of them plus our own modules stays under UI.md's budget: 100 kB
compressed."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parent.parent / "portal" / "static"
VENDOR = STATIC / "vendor"
TEMPLATES = STATIC.parent / "templates"
BUDGET = 100 * 1024
MANIFEST = json.loads((VENDOR / "MANIFEST.json").read_text())
LISTED = {
    path: entry for package in MANIFEST["packages"] for path, entry in package["files"].items()
}


@pytest.mark.parametrize("path", sorted(LISTED))
def test_each_listed_file_is_there_unchanged(path: str) -> None:
    file = VENDOR / path
    assert file.is_file(), f"{path} is in MANIFEST.json but not in {VENDOR}"
    assert hashlib.sha256(file.read_bytes()).hexdigest() == LISTED[path]["sha256"], (
        f"{path} differs from the copy MANIFEST.json describes"
    )


def test_every_vendored_file_is_listed() -> None:
    present = {str(file.relative_to(VENDOR)) for file in VENDOR.rglob("*") if file.is_file()} - {
        "MANIFEST.json"
    }
    assert present - set(LISTED) == set(), "files in vendor/ that MANIFEST.json does not list"


@pytest.mark.parametrize("package", MANIFEST["packages"], ids=lambda p: p["name"])
def test_each_package_has_its_licence(package: dict[str, object]) -> None:
    licence = str(package["licence_file"])
    assert licence in package["files"], f"{package['name']}: its licence file is not listed"
    assert package["licence"], f"{package['name']}: no licence named"
    assert (VENDOR / licence).read_text().strip()


def loaded_vendor_files() -> set[Path]:
    """The vendored files a page loads: named by a template or imported by our JS."""
    found = set()
    for template in TEMPLATES.rglob("*.html"):
        found |= {VENDOR / m for m in re.findall(r"vendor/([\w./-]+\.js)", template.read_text())}
    for module in (STATIC / "js").glob("*.js"):
        for target in re.findall(r"from\s+[\"']([^\"']+)[\"']", module.read_text()):
            found.add((module.parent / target).resolve())
    return {path for path in found if VENDOR in path.parents}


def compressed_size(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=9))


def test_our_javascript_and_the_vendored_files_stay_under_100_kb_compressed() -> None:
    files = sorted((STATIC / "js").glob("*.js")) + sorted(loaded_vendor_files())
    assert any(VENDOR in f.parents for f in files), "no vendored file found in the pages"
    sizes = {str(f.relative_to(STATIC)): (f.stat().st_size, compressed_size(f)) for f in files}
    for name, (raw, packed) in sizes.items():
        print(f"{name:45} {raw / 1024:7.1f} kB  {packed / 1024:6.1f} kB gzip -9")
    total = sum(packed for _raw, packed in sizes.values())
    print(f"{'total':45} {'':7}     {total / 1024:6.1f} kB gzip -9 (budget {BUDGET // 1024} kB)")
    assert total <= BUDGET
