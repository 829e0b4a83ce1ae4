"""OpenSSH Ed25519 public keys: parse what users paste, compute what the Encord SDK sends (no ORM)."""

import base64
import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_ssh_public_key

from metadata_site.lib.errors import MessageError

KEY_EMPTY = "Paste an OpenSSH public key (the one line of your id_ed25519.pub file)."
KEY_PRIVATE = "That is a private key. Paste the public key instead: the .pub file, starting with “ssh-ed25519”."
KEY_MALFORMED = "That is not an OpenSSH public key. It should be one line: “ssh-ed25519 AAAA… comment”."
KEY_NOT_ED25519 = (
    "Only Ed25519 keys can sign Encord SDK requests, and this is a {kind} key. "
    "Create one with: ssh-keygen -t ed25519 -f ~/.ssh/encord"
)


class InvalidPublicKey(MessageError):
    """A pasted key cannot be used; the message says why."""


@dataclass(frozen=True)
class ParsedKey:
    key: Ed25519PublicKey
    key_hex: str  # raw 32 bytes, lower-case hex: the SDK's key id
    openssh: str  # "ssh-ed25519 AAAA..." without the comment
    comment: str
    fingerprint: str  # "SHA256:..." as ssh-keygen -l prints it


def parse_public_key(text: str) -> ParsedKey:
    text = (text or "").strip()
    if not text:
        raise InvalidPublicKey(KEY_EMPTY)
    if "PRIVATE KEY" in text:
        raise InvalidPublicKey(KEY_PRIVATE)
    parts = text.split()
    if len(parts) < 2:
        raise InvalidPublicKey(KEY_MALFORMED)
    kind, blob, comment = parts[0], parts[1], " ".join(parts[2:])
    if kind != "ssh-ed25519":
        if kind.startswith(("ssh-", "ecdsa-", "sk-")):
            raise InvalidPublicKey(KEY_NOT_ED25519.format(kind=kind))
        raise InvalidPublicKey(KEY_MALFORMED)
    try:
        key = load_ssh_public_key(f"{kind} {blob}".encode())
        raw_blob = base64.b64decode(blob, validate=True)
    except (ValueError, TypeError):
        raise InvalidPublicKey(KEY_MALFORMED) from None
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidPublicKey(KEY_NOT_ED25519.format(kind=kind))
    digest = base64.b64encode(hashlib.sha256(raw_blob).digest()).decode().rstrip("=")
    return ParsedKey(
        key=key,
        key_hex=key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex(),
        openssh=f"{kind} {blob}",
        comment=comment,
        fingerprint=f"SHA256:{digest}",
    )


def public_key_from_hex(key_hex: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(key_hex))
