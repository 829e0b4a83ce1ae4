from metadata_site.lib.jsondiff import ADDED, CHANGED, REMOVED, KeyChange, as_json, key_diff


def test_values_are_written_as_json_not_python():
    assert as_json({"dark": True, "camera": None, "colors": ["red"]}) == '{"camera": null, "colors": ["red"], "dark": true}'
    assert as_json("Zürich") == '"Zürich"'
    assert as_json(float("nan")) == '"nan"'


def test_the_diff_lists_added_removed_and_changed_keys_only():
    before = {"weather": "Sunny", "dark": False, "temperature": 12}
    after = {"weather": "Rain", "temperature": 12, "colors": ["red"]}
    assert key_diff(before, after) == [
        KeyChange("weather", CHANGED, "Sunny", "Rain"),
        KeyChange("dark", REMOVED, before=False),
        KeyChange("colors", ADDED, after=["red"]),
    ]


def test_equal_in_python_but_not_in_json_is_a_change():
    assert key_diff({"n": 1}, {"n": True}) == [KeyChange("n", CHANGED, 1, True)]
    assert key_diff({"n": 1}, {"n": 1.0}) == [KeyChange("n", CHANGED, 1, 1.0)]


def test_a_non_object_counts_as_empty():
    assert key_diff(None, {"a": 1}) == [KeyChange("a", ADDED, after=1)]
    assert key_diff({"a": 1}, {"a": 1}) == []
