"""The web page's pure modules (service/net/web/static/js), unit-tested with node's own test
runner (tests/js/*.test.mjs): run from here so that the one test command covers them."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

JS_TESTS = Path(__file__).parents[1] / "js"


def test_the_page_modules_pass_their_node_tests() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the page's JavaScript unit tests (tests/js) skipped")
    result = subprocess.run(
        [node, "--test", "--test-reporter=spec", str(JS_TESTS)],
        capture_output=True, text=True, timeout=50, cwd=JS_TESTS.parents[1],
    )  # fmt: skip
    assert result.returncode == 0, f"node --test tests/js failed:\n{result.stdout}{result.stderr}"
    assert re.search(r"\bpass [1-9]", result.stdout), f"no test ran:\n{result.stdout}"
