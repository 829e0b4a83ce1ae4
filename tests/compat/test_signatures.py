import time

import pytest

from metadata_site.compat.encord.signatures import (
    SIG_DIGEST,
    SIG_INVALID,
    SIG_MALFORMED,
    SIG_MISSING,
    SIG_STALE,
    SignatureRefused,
    verify_legacy,
    verify_v2,
)

from .signing import key_hex, legacy_authorization, new_key, v2_headers

KEY = new_key()
OTHER = new_key()
TARGET = "/v2/public/storage/items/0b8f8a7e-3c39-4b0f-9f55-5a1d7e0c2a10?signUrl=False"


def lookup(kid):
    return KEY.public_key() if kid == key_hex(KEY) else None


def test_it_accepts_a_v2_signature_made_like_the_sdk():
    headers = v2_headers(KEY, "GET", TARGET)
    assert verify_v2(method="GET", target=TARGET, headers=headers, body=b"", lookup=lookup) == key_hex(KEY)


def test_it_accepts_a_signed_body():
    body = b'{"clientMetadata": {"a": 1}}'
    headers = v2_headers(KEY, "PATCH", "/v2/public/storage/items/patch-bulk", body)
    assert verify_v2(method="PATCH", target="/v2/public/storage/items/patch-bulk", headers=headers, body=body,
                     lookup=lookup)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda h: {k: v for k, v in h.items() if k != "Signature"}, SIG_MISSING),
        (lambda h: {**h, "Content-Digest": "sha-256=:AAAA:"}, SIG_DIGEST),
        (lambda h: {**h, "Signature-Input": h["Signature-Input"].replace("ed25519", "rsa")}, SIG_MALFORMED),
        (lambda h: {**h, "Signature": "encord-sig=:!!!:"}, SIG_MALFORMED),
    ],
)
def test_it_refuses_missing_or_malformed_headers(change, message):
    headers = change(v2_headers(KEY, "GET", TARGET))
    with pytest.raises(SignatureRefused, match=message[:30]):
        verify_v2(method="GET", target=TARGET, headers=headers, body=b"", lookup=lookup)


def test_it_refuses_a_signature_over_another_target():
    headers = v2_headers(KEY, "GET", TARGET)
    with pytest.raises(SignatureRefused, match=SIG_INVALID):
        verify_v2(method="GET", target=TARGET.replace("False", "True"), headers=headers, body=b"", lookup=lookup)


def test_it_refuses_a_signature_over_another_method():
    headers = v2_headers(KEY, "GET", TARGET)
    with pytest.raises(SignatureRefused, match=SIG_INVALID):
        verify_v2(method="DELETE", target=TARGET, headers=headers, body=b"", lookup=lookup)


def test_it_refuses_a_forged_signature_that_names_a_registered_key():
    headers = v2_headers(OTHER, "GET", TARGET, key_id=key_hex(KEY))
    with pytest.raises(SignatureRefused, match=SIG_INVALID):
        verify_v2(method="GET", target=TARGET, headers=headers, body=b"", lookup=lookup)


def test_it_refuses_an_unregistered_key():
    headers = v2_headers(OTHER, "GET", TARGET)
    with pytest.raises(SignatureRefused, match=SIG_INVALID):
        verify_v2(method="GET", target=TARGET, headers=headers, body=b"", lookup=lookup)


@pytest.mark.parametrize(("skew", "message"), [(-301, "in the past"), (-100_000, "in the past"),
                                             (31, "more than 30 s in the future"), (250, "in the future")])
def test_it_refuses_a_stale_signature_or_one_from_the_future(skew, message):
    headers = v2_headers(KEY, "GET", TARGET, created=int(time.time()) + skew)
    with pytest.raises(SignatureRefused, match=message):
        verify_v2(method="GET", target=TARGET, headers=headers, body=b"", lookup=lookup)
    assert SIG_STALE


def test_the_future_skew_is_a_parameter():
    headers = v2_headers(KEY, "GET", TARGET, created=int(time.time()) + 100)
    assert verify_v2(method="GET", target=TARGET, headers=headers, body=b"", lookup=lookup, max_future=120)


@pytest.mark.parametrize("skew", [-290, 25])
def test_it_accepts_a_signature_up_to_five_minutes_old_or_a_little_ahead(skew):
    headers = v2_headers(KEY, "GET", TARGET, created=int(time.time()) + skew)
    assert verify_v2(method="GET", target=TARGET, headers=headers, body=b"", lookup=lookup)


def test_it_accepts_a_legacy_signature():
    body = b'{"query_type": "dataset"}'
    assert verify_legacy(authorization=legacy_authorization(KEY, body), body=body, lookup=lookup) == key_hex(KEY)


def test_it_refuses_a_legacy_signature_over_another_body():
    auth = legacy_authorization(KEY, b'{"a": 1}')
    with pytest.raises(SignatureRefused, match=SIG_INVALID):
        verify_legacy(authorization=auth, body=b'{"a": 2}', lookup=lookup)


def test_it_refuses_a_forged_legacy_signature():
    body = b"{}"
    with pytest.raises(SignatureRefused, match=SIG_INVALID):
        verify_legacy(authorization=legacy_authorization(OTHER, body, key_id=key_hex(KEY)), body=body, lookup=lookup)


@pytest.mark.parametrize("header", ["", "Bearer abc", "zz:yy", f"{'a' * 64}:{'b' * 10}"])
def test_it_refuses_malformed_legacy_headers(header):
    with pytest.raises(SignatureRefused):
        verify_legacy(authorization=header, body=b"{}", lookup=lookup)
