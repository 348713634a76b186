"""The package's metadata builds without setuptools warnings, so that `make run` (which
installs the portal first) prints no screens of them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_building_the_package_warns_of_nothing(tmp_path):
    """What `pip install` runs in setuptools: the metadata, then the modules and data."""
    build = subprocess.run(
        [
            sys.executable,
            "-W",
            "always",
            "-c",
            "import setuptools; setuptools.setup()",
            "--quiet",
            "egg_info",
            "--egg-base",
            str(tmp_path),
            "build_py",
            "--build-lib",
            str(tmp_path / "lib"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert build.returncode == 0, build.stderr
    assert re.findall(r"\w+Warning\b.*", build.stderr) == []
    built = tmp_path / "lib" / "portal"
    for data in ("templates/base.html", "static/portal.css", "static/js/menus.js"):
        assert (built / data).is_file(), data
    assert list(built.glob("translations/*/LC_MESSAGES/messages.po"))
