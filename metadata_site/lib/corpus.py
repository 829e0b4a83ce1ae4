"""The benchmark corpus generator, reproduced for demo data.

It yields exactly what the shared benchmark generator (`gen_metadata.py`) prints for the same N and
seed, so demo workspaces look like the benchmark corpus. Standard library only.
"""

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

WEATHER = ["Sunny", "Cloudy", "Rain", "Snow", "Fog"]
COLORS = ["red", "green", "blue", "yellow", "purple", "pink", "black"]
START = datetime(2024, 1, 1, tzinfo=UTC)
SPAN_S = int((datetime(2026, 1, 1, tzinfo=UTC) - START).total_seconds())
DEFAULT_SEED = 20261122

# The corpus' field declarations, in the vendors' (Visual Layer) shape.
SCHEMA = [
    {"field_name": "weather", "field_type": "enum", "enum_options": WEATHER, "is_multi": False},
    {"field_name": "temperature", "field_type": "float"},
    {"field_name": "captured_at", "field_type": "datetime"},
    {"field_name": "camera", "field_type": "string"},
    {"field_name": "colors", "field_type": "enum", "enum_options": COLORS, "is_multi": True},
    {"field_name": "dark", "field_type": "boolean"},
    {"field_name": "source", "field_type": "link"},
]

DESCRIPTIONS = {
    "weather": ("Weather when the image was captured", ""),
    "temperature": ("Air temperature at capture", "°C"),
    "captured_at": ("Capture time (UTC)", ""),
    "camera": ("Camera identifier", ""),
    "colors": ("Dominant colours", ""),
    "dark": ("Taken at night or in low light", ""),
    "source": ("Where the original image lives", ""),
}


def _item(i: int, rng: random.Random) -> dict:
    colors = sorted(rng.sample(COLORS, rng.randint(0, 3)))
    when = START + timedelta(seconds=rng.randrange(SPAN_S))
    return {
        "title": f"img_{i:07d}.jpg",
        "media_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "metadata": {
            "weather": rng.choice(WEATHER),
            "temperature": round(rng.uniform(-20.0, 40.0), 2),
            "captured_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "camera": f"cam-{rng.randint(1, 500):04d}",
            "colors": colors,
            "dark": rng.random() < 0.3,
            "source": f"https://images.example.com/{i:07d}.jpg",
        },
    }


def generate(n: int, *, seed: int = DEFAULT_SEED) -> Iterator[dict]:
    rng = random.Random(seed)
    for i in range(1, n + 1):
        yield _item(i, rng)


def schema_fields() -> list[dict]:
    """The corpus schema as metadata_site field declarations."""
    fields = []
    for decl in SCHEMA:
        description, unit = DESCRIPTIONS[decl["field_name"]]
        fields.append(
            {
                "name": decl["field_name"],
                "type": decl["field_type"],
                "options": list(decl.get("enum_options", [])),
                "is_multi": bool(decl.get("is_multi", False)),
                "description": description,
                "unit": unit,
            }
        )
    return fields
