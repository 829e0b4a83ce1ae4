"""Sign requests the way the Encord SDK 0.1.211 does (encord/http/v2/request_signer.py, configs.py)."""

import base64
import hashlib
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def new_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def openssh_public(key: Ed25519PrivateKey, comment: str = "me@laptop") -> str:
    return key.public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode() + f" {comment}"


def key_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def v2_headers(key: Ed25519PrivateKey, method: str, target: str, body: bytes = b"", *, created: int | None = None,
               key_id: str | None = None) -> dict[str, str]:
    digest = "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"
    created = int(time.time()) if created is None else created
    params = (f'("@method" "@request-target" "content-digest");created={created};'
              f'keyid="{key_id or key_hex(key)}";alg="ed25519"')
    base = (f'"@method": {method.upper()}\n"@request-target": {target}\n'
            f'"content-digest": {digest}\n"@signature-params": {params}')
    signature = base64.b64encode(key.sign(base.encode())).decode()
    return {"Content-Digest": digest, "Signature-Input": f"encord-sig={params}",
            "Signature": f"encord-sig=:{signature}:"}


def legacy_authorization(key: Ed25519PrivateKey, body: bytes, *, key_id: str | None = None) -> str:
    return f"{key_id or key_hex(key)}:{key.sign(hashlib.sha256(body).digest()).hex()}"
