"""sandbox.reach_plan with a checkout in a 0700 directory (what `mktemp -d` makes): the
directory is covered and the runtime's own subtrees — the venv and the faaslab package —
are the ones bound back."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from faaslab.functions.manager import runtime_paths
from faaslab.functions.sandbox import reach_plan


def test_a_0700_checkout_keeps_the_venv_and_the_package() -> None:
    base = Path(tempfile.mkdtemp(dir="/tmp"))  # (pytest's own tmp dirs are 0700 too)
    base.chmod(0o755)
    checkout = base / "checkout"
    for sub in ("faaslab", ".venv/lib", "tests"):
        (checkout / sub).mkdir(parents=True)
    checkout.chmod(0o700)
    paths = [str(checkout), str(checkout / "faaslab"), str(checkout / ".venv/lib")]
    try:
        assert reach_plan(paths) == [
            (str(checkout), sorted([str(checkout / ".venv"), str(checkout / "faaslab")]))
        ]
    finally:
        shutil.rmtree(base)


def test_runtime_paths_name_the_package_itself() -> None:
    import faaslab

    assert os.path.dirname(faaslab.__file__) in runtime_paths()
