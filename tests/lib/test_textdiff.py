from metadata_site.lib.textdiff import unified_lines


def test_it_classifies_each_line_of_a_unified_diff():
    lines = unified_lines("a\nb\nc", "a\nB\nc", old_label="v1", new_label="v2")
    assert [(line.kind, line.text) for line in lines] == [
        ("file", "--- v1"),
        ("file", "+++ v2"),
        ("hunk", "@@ -1,3 +1,3 @@"),
        ("ctx", " a"),
        ("del", "-b"),
        ("add", "+B"),
        ("ctx", " c"),
    ]


def test_equal_texts_have_no_diff():
    assert unified_lines("same", "same", old_label="a", new_label="b") == []
