"""Compact JSON text of already-validated values, through orjson (5-10 times faster than `json.dumps`).

`dumps(value)` is `json.dumps(value, separators=(",", ":"), ensure_ascii=False)` in meaning: the same JSON
value, though not always the same text (orjson prints 1e-05 as 0.00001). Where the text itself matters (a
hash of it is kept), `items.services` uses `dumps(..., sort_keys=True)` only for objects whose floats print
alike in both (see `_is_canonical` there). What orjson refuses (an integer beyond 64 bits, a lone surrogate)
goes to `json.dumps`. Only for values without NaN or Infinity, which orjson would print as null: metadata
is validated before it is written.
"""

import json
from typing import Any

import orjson


def dumps(value: Any, *, sort_keys: bool = False) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else None).decode()
    except TypeError:
        return json.dumps(value, sort_keys=sort_keys, separators=(",", ":"), ensure_ascii=False)
