"""Verifying the Encord SDK's request signatures (no ORM).

Two schemes, both Ed25519 over a key the user registered:

- /v2 requests: RFC 9421-style ``Content-Digest`` / ``Signature-Input`` / ``Signature`` headers over the method,
  the request target (path and raw query) and the body digest, with a ``created`` timestamp at most
  ``MAX_SKEW_SECONDS`` in the past and at most `max_future` seconds (a small clock skew) in the future. The caller
  refuses a signature it has accepted before (`signature_id` names one; see `compat.services`).
- legacy ``POST /public`` requests: ``Authorization: <hex public key>:<hex signature over sha256(body)>``, with no
  timestamp (see the security notes in docs: these replay).

`lookup(key_hex)` returns the registered public key for a key id, or None.
"""

import base64
import hashlib
import re
import time
from collections.abc import Callable, Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

MAX_SKEW_SECONDS = 300  # how old a signature may be: its validity window, and how long a replay is remembered
MAX_FUTURE_SECONDS = 30  # the default clock skew a signature's created time may be ahead of ours

Lookup = Callable[[str], Ed25519PublicKey | None]

_SIG_INPUT = re.compile(
    r'encord-sig=(\("@method" "@request-target" "content-digest"\)'
    r';created=(\d{1,12});keyid="([0-9a-f]{64})";alg="ed25519")'
)
_LEGACY = re.compile(r"([0-9a-f]{64}):([0-9a-f]{128})")

# Why a signature was refused; shown to the client (none of them reveals whether a key is registered).
SIG_MISSING = "The request is not signed: Signature-Input, Signature and Content-Digest headers are required."
SIG_DIGEST = "Content-Digest does not match the request body."
SIG_MALFORMED = "The Signature-Input or Signature header is malformed."
SIG_STALE = f"The signature's created time is more than {MAX_SKEW_SECONDS} s in the past of the server's clock."
SIG_FUTURE = "The signature's created time is more than {limit} s in the future of the server's clock."
SIG_REPLAYED = "This signature was already used: sign each request afresh."
SIG_INVALID = "The signature does not verify against a registered key."


class SignatureRefused(Exception):
    """The request's signature is missing, malformed, stale or wrong; str(exc) says which."""


def content_digest(body: bytes) -> str:
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"


def verify_v2(
    *,
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes,
    lookup: Lookup,
    now: float | None = None,
    max_future: int = MAX_FUTURE_SECONDS,
) -> str:
    """The key id of a valid /v2 signature; raises SignatureRefused otherwise."""
    sig_input = headers.get("Signature-Input")
    signature = headers.get("Signature")
    digest_header = headers.get("Content-Digest")
    if not sig_input or not signature or not digest_header:
        raise SignatureRefused(SIG_MISSING)
    digest = content_digest(body)
    if digest_header != digest:
        raise SignatureRefused(SIG_DIGEST)
    match = _SIG_INPUT.fullmatch(sig_input)
    if not match or not (signature.startswith("encord-sig=:") and signature.endswith(":")):
        raise SignatureRefused(SIG_MALFORMED)
    params, created, key_id = match.groups()
    now = time.time() if now is None else now
    if now - int(created) > MAX_SKEW_SECONDS:
        raise SignatureRefused(SIG_STALE)
    if int(created) - now > max_future:
        raise SignatureRefused(SIG_FUTURE.format(limit=max_future))
    try:
        raw_signature = base64.b64decode(signature[len("encord-sig=:") : -1], validate=True)
    except ValueError:
        raise SignatureRefused(SIG_MALFORMED) from None
    key = lookup(key_id)
    if key is None:
        raise SignatureRefused(SIG_INVALID)
    base = (
        f'"@method": {method.upper()}\n"@request-target": {target}\n'
        f'"content-digest": {digest}\n"@signature-params": {params}'
    )
    try:
        key.verify(raw_signature, base.encode())
    except (InvalidSignature, ValueError):
        raise SignatureRefused(SIG_INVALID) from None
    return key_id


def signature_id(headers: Mapping[str, str]) -> tuple[str, int]:
    """(SHA-256 of the Signature header, its created time) of a request `verify_v2` accepted: what a replay cache
    keys on, and from when the signature is stale (created + MAX_SKEW_SECONDS)."""
    created = int(_SIG_INPUT.fullmatch(headers["Signature-Input"]).group(2))
    return hashlib.sha256(headers["Signature"].encode()).hexdigest(), created


def verify_legacy(*, authorization: str, body: bytes, lookup: Lookup) -> str:
    """The key id of a valid legacy ``<hex key>:<hex signature>`` header; raises SignatureRefused otherwise."""
    if not authorization:
        raise SignatureRefused(SIG_MISSING)
    match = _LEGACY.fullmatch(authorization.strip().lower())
    if not match:
        raise SignatureRefused(SIG_MALFORMED)
    key_id, signature_hex = match.groups()
    key = lookup(key_id)
    if key is None:
        raise SignatureRefused(SIG_INVALID)
    try:
        key.verify(bytes.fromhex(signature_hex), hashlib.sha256(body).digest())
    except (InvalidSignature, ValueError):
        raise SignatureRefused(SIG_INVALID) from None
    return key_id
