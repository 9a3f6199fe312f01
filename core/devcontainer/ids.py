"""`${devcontainerId}`: the spec's label-based id, identical to the reference CLI's."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

_DIGITS = "0123456789abcdefghijklmnopqrstuv"


def devcontainer_id(id_labels: Mapping[str, str]) -> str:
    """SHA-256 of the sorted, compact JSON of the id labels, in base 32 (0-9a-v), 52 chars."""
    encoded = json.dumps(dict(id_labels), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    number = int.from_bytes(hashlib.sha256(encoded.encode("utf-8")).digest(), "big")
    digits = []
    while number:
        number, rest = divmod(number, 32)
        digits.append(_DIGITS[rest])
    return "".join(reversed(digits)).rjust(52, "0")
