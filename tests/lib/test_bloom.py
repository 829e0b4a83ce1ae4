from metadata_site.lib.bloom import StringBloom


def test_every_added_string_is_maybe_in_the_filter():
    bloom = StringBloom(bits_log2=16)
    texts = [f"img_{n:07d}.jpg" for n in range(5000)]
    bloom.update(texts)
    assert all(text in bloom for text in texts)


def test_strings_never_added_are_mostly_reported_absent():
    bloom = StringBloom(bits_log2=16)
    bloom.update(f"img_{n:07d}.jpg" for n in range(5000))
    # 5,000 strings in 65,536 bits with three probes: about 1 % false positives.
    false_positives = sum(f"other_{n}.jpg" in bloom for n in range(10_000))
    assert false_positives < 300


def test_an_empty_filter_holds_nothing():
    assert "anything" not in StringBloom()
