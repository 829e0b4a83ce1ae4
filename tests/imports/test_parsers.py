"""The streaming readers: rows with their 0-based index, row errors, and file errors with exact messages."""

import codecs
import json

import pytest

from metadata_site.imports import parsers
from metadata_site.imports.parsers import ImportFileError, Reader

SECTIONS = ("images", "videos", "image_groups")


def _rows(tmp_path, content, fmt, *, shapes=("array",), chunk=None, monkeypatch=None):
    path = tmp_path / f"upload.{fmt}"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    if chunk:
        monkeypatch.setitem(parsers.TextStream.__init__.__kwdefaults__, "chunk_chars", chunk)
    reader = Reader(path, fmt)
    rows = [(r.index, r.value, r.error) for r in reader.rows(json_shapes=shapes, sections=SECTIONS)]
    assert reader.bytes_read == reader.size
    return rows


@pytest.mark.parametrize(
    "content, shapes, expected",
    [
        ('[{"a": 1}, 2, "x"]', ("array",), [(0, {"a": 1}, None), (1, 2, None), (2, "x", None)]),
        ("  [ ]  ", ("array",), []),
        ('{"u1": {"a": 1}, "u2": {}}', ("object",), [(0, ("u1", {"a": 1}), None), (1, ("u2", {}), None)]),
        (
            '{"images": [{"t": 1}], "videos": [], "image_groups": [{"g": 2}, 3]}',
            ("sections",),
            [(0, ("images", {"t": 1}, 0), None), (1, ("image_groups", {"g": 2}, 0), None),
             (2, ("image_groups", 3, 1), None)],
        ),
        ("[12345678901234567890, -1.5e-3]", ("array",), [(0, 12345678901234567890, None), (1, -0.0015, None)]),
    ],
)
def test_it_streams_json_rows_with_their_index(tmp_path, content, shapes, expected):
    assert _rows(tmp_path, content, "json", shapes=shapes) == expected


@pytest.mark.parametrize("chunk", [1, 7, 64, 4096])
def test_it_gives_the_same_rows_whatever_the_chunk_size(tmp_path, monkeypatch, chunk):
    data = [{"media_id": f"id-{i}", "value": i * 1234567.891, "l": ["é", "🙂", i]} for i in range(300)]
    got = _rows(tmp_path, json.dumps(data, indent=1), "json", chunk=chunk, monkeypatch=monkeypatch)
    assert [v for _, v, _ in got] == data
    assert [i for i, _, _ in got] == list(range(300))


@pytest.mark.parametrize(
    "content, fmt, shapes, message",
    [
        ("", "json", ("array",), "The file is empty."),
        ("[1, 2", "json", ("array",), "Invalid JSON at line 1, column 6: expected ',' or ']', found the end of the file."),
        ("[1 2]", "json", ("array",), "Invalid JSON at line 1, column 4: expected ',' or ']', found '2'."),
        ("[\n1,\n]", "json", ("array",), "Invalid JSON at line 3, column 1: Expecting value."),
        ('{"a" 1}', "json", ("object",), "Invalid JSON at line 1, column 6: expected ':', found '1'."),
        ('{"a": 1,}', "json", ("object",), "Invalid JSON at line 1, column 9: expected a property name in double quotes."),
        ("[1] [2]", "json", ("array",), "Invalid JSON at line 1, column 5: unexpected data after the top-level value."),
        ('{"a": 1}', "json", ("array",), "The file's top level must be an array, not an object."),
        ("[1]", "json", ("object",), "The file's top level must be an object, not an array."),
        ('"text"', "json", ("array", "object"), "The file's top level must be an array or an object, not a string."),
        ('{"photos": []}', "json", ("sections",), "Unknown top-level key 'photos': expected 'images', 'videos', 'image_groups'."),
        ('{"images": {}}', "json", ("sections",), "The top-level key 'images' must hold an array, not an object."),
        (b'["caf\xe9"]', "json", ("array",), "The file is not valid UTF-8 (at byte 5); save it as UTF-8 and upload it again."),
        (codecs.BOM_UTF16_LE + "[1]".encode("utf-16-le"), "json", ("array",),
         "The file is UTF-16 encoded; save it as UTF-8 and upload it again."),
        ("\n\n", "jsonl", ("array",), "The file is empty."),
        ("", "csv", ("array",), "The file is empty."),
        ("a,b,a\n1,2,3\n", "csv", ("array",), "The CSV header repeats the column 'a'."),
        ('media_id,value\n"x,1\n', "csv", ("array",), "Invalid CSV at line 2: unexpected end of data."),
    ],
)
def test_it_fails_a_file_that_is_not_what_it_claims(tmp_path, content, fmt, shapes, message):
    with pytest.raises(ImportFileError) as exc:
        _rows(tmp_path, content, fmt, shapes=shapes)
    assert exc.value.reason == message


def test_it_reads_a_utf8_bom(tmp_path):
    assert _rows(tmp_path, codecs.BOM_UTF8 + b'[{"a": "\xc3\xa9"}]', "json") == [(0, {"a": "é"}, None)]


def test_it_reports_a_bad_jsonl_line_as_a_row_error_and_keeps_going(tmp_path):
    rows = _rows(tmp_path, '{"a": 1}\n\n{"a": \n[2]\n{"b": 3}', "jsonl")
    assert rows == [
        (0, {"a": 1}, None),
        (1, None, "Invalid JSON: Expecting value at column 7"),
        (2, [2], None),
        (3, {"b": 3}, None),
    ]


def test_it_reads_csv_rows_as_dicts_and_reports_a_short_row(tmp_path):
    rows = _rows(tmp_path, 'media_id,value\r\nm1,"a, b"\r\nm2\r\n\r\nm3,"multi\nline"\r\n', "csv")
    assert rows == [
        (0, {"media_id": "m1", "value": "a, b"}, None),
        (1, None, "Expected 2 columns, found 1"),
        (2, {"media_id": "m3", "value": "multi\nline"}, None),
    ]


@pytest.mark.parametrize(
    "name, explicit, expected",
    [("a.json", None, "json"), ("a.JSONL", None, "jsonl"), ("a.ndjson", None, "jsonl"), ("a.csv", None, "csv"),
     ("a.txt", "csv", "csv")],
)
def test_it_picks_the_format_from_the_name_or_the_choice(name, explicit, expected):
    assert parsers.format_for(name, explicit) == expected


def test_it_refuses_an_unknown_format():
    with pytest.raises(ImportFileError) as exc:
        parsers.format_for("a.xlsx")
    assert exc.value.reason == "Unknown file format 'a.xlsx': use .json, .jsonl or .csv."


def test_a_scan_counts_the_jsonl_rows_a_full_read_gives_without_parsing_them(tmp_path):
    path = tmp_path / "upload.jsonl"
    path.write_text('{"a": 1}\n\n  \n{not json\n[1, 2]\n')
    reader = Reader(path, "jsonl")
    scanned = [r.index for r in reader.scan()]
    assert reader.bytes_read == reader.size
    assert scanned == [r.index for r in Reader(path, "jsonl").rows()] == [0, 1, 2]


@pytest.mark.parametrize("read", [lambda r: r.scan(), lambda r: r.scan_lines(every=10)], ids=["scan", "scan_lines"])
@pytest.mark.parametrize(
    "content, message",
    [
        (b"\n  \n", "The file is empty."),
        (b"", "The file is empty."),
        (b'{"a": "caf\xe9"}\n', "The file is not valid UTF-8 (at byte 10); save it as UTF-8 and upload it again."),
    ],
)
def test_a_scan_of_jsonl_still_fails_an_empty_or_badly_encoded_file(tmp_path, content, message, read):
    path = tmp_path / "upload.jsonl"
    path.write_bytes(content)
    with pytest.raises(ImportFileError) as exc:
        list(read(Reader(path, "jsonl")))
    assert exc.value.reason == message


@pytest.mark.parametrize("content", [
    '{"a": 1}\n\n  \n{not json\n[1, 2]\n',
    '{"a": 1}\r\n\r\n[1]\r\n\t\r\n"x"',
    "\n".join(f'{{"n": {n}}}' for n in range(25_000)) + "\n\n",
    "\ufeff" + '{"a": 1}\n' + " " * 10 + "\n" + "x" * 3_000_000 + "\n",
])
def test_counting_jsonl_lines_gives_the_rows_a_full_read_gives(tmp_path, content):
    path = tmp_path / "upload.jsonl"
    path.write_text(content, encoding="utf-8")
    reader = Reader(path, "jsonl")
    counts = list(reader.scan_lines(every=10_000))
    assert reader.bytes_read == reader.size
    assert counts[-1] == len(list(Reader(path, "jsonl").rows()))
    assert counts == sorted(counts)


def test_a_scan_of_json_or_csv_parses_them_as_a_full_read_does(tmp_path):
    path = tmp_path / "upload.json"
    path.write_text('[{"a": 1}, {"a": 2}')
    with pytest.raises(ImportFileError) as exc:
        list(Reader(path, "json").scan())
    assert exc.value.reason.startswith("Invalid JSON at line 1")
