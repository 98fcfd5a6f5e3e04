"""docs/PROTOCOL.md is the contract, word for word, then Parley's choices: a clone of Parley
carries the protocol it speaks, and a change to the contract fails here until the copy follows
(and the code with it).
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT.parent / "shared" / "PROTOCOL.md"  # beside the checkout, where there is one
COPY = ROOT / "docs" / "PROTOCOL.md"


def test_the_copy_in_docs_is_the_contract_word_for_word() -> None:
    if not CONTRACT.exists():
        pytest.skip(f"no contract beside this checkout ({CONTRACT}) to compare with")
    copy = COPY.read_text(encoding="utf-8")
    body = copy.split("-->\n\n", 1)[1]  # after the note on what the copy is
    contract, _, choices = body.partition("\n\n## Parley's choices\n")
    assert contract + "\n" == CONTRACT.read_text(encoding="utf-8")
    assert choices, "Parley's choices follow the contract"
