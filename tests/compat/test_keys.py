import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from metadata_site.compat.keys import (
    KEY_MALFORMED,
    KEY_PRIVATE,
    InvalidPublicKey,
    parse_public_key,
)

from .signing import key_hex, new_key, openssh_public


def test_it_parses_an_ed25519_public_key():
    key = new_key()
    parsed = parse_public_key(openssh_public(key, "ana@laptop") + "\n")
    assert parsed.key_hex == key_hex(key)
    assert parsed.comment == "ana@laptop"
    assert parsed.fingerprint.startswith("SHA256:")


def test_it_rejects_rsa_keys_with_a_clear_message():
    pub = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    text = pub.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()
    with pytest.raises(InvalidPublicKey, match="Only Ed25519 keys.*ssh-rsa"):
        parse_public_key(text)


def test_it_rejects_ecdsa_keys():
    pub = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(InvalidPublicKey, match="Only Ed25519"):
        parse_public_key(pub.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode())


def test_it_rejects_a_private_key():
    text = new_key().private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption()).decode()
    with pytest.raises(InvalidPublicKey, match="private key"):
        parse_public_key(text)
    assert KEY_PRIVATE


@pytest.mark.parametrize("text", ["hello", "ssh-ed25519 notbase64!!", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA=="])
def test_it_rejects_garbage(text):
    with pytest.raises(InvalidPublicKey, match=KEY_MALFORMED[:20]):
        parse_public_key(text)
