import re

import pytest

from pipeline.discover.manifest import ManifestError, load_manifest


def write(tmp_path, text):
    (tmp_path / "sources.yaml").write_text(text, encoding="utf-8")


def test_bundled_manifest(tmp_path):
    from conftest import RAW

    m = load_manifest(RAW)
    assert set(m.plans) == {"kama-sme-2", "chiba-genki-5"}
    kama = m.plans["kama-sme-2"]
    assert (kama.issuer, kama.level, kama.prefecture, kama.fiscal_years) == (
        "嘉麻市",
        "municipal",
        "福岡県",
        (2023, 2027),
    )
    assert [(d.rel_path, d.alternates) for d in m.documents] == [
        ("kama/progress_sheets.pdf", ("kama/progress_sheets.txt",)),
        ("kama/action_plan.pdf", ("kama/action_plan.txt",)),
        ("chiba/strategy_framework.pdf", ("chiba/strategy_framework.txt",)),
    ]
    assert not m.warnings, "alternates are listed documents, not discovered ones"
    text = load_manifest(RAW, prefer="text")
    assert [d.rel_path for d in text.documents] == [
        "kama/progress_sheets.txt",
        "kama/action_plan.txt",
        "chiba/strategy_framework.txt",
    ]


def test_invalid_yaml_names_the_line(tmp_path):
    write(tmp_path, "plans:\n  - plan_id: a\n    documents: [\n")
    with pytest.raises(ManifestError, match=r"line \d+: invalid YAML"):
        load_manifest(tmp_path)


@pytest.mark.parametrize("path", ["../../etc/passwd", "/etc/passwd"])
def test_paths_outside_raw_are_refused(tmp_path, path):
    raw = tmp_path / "raw"
    raw.mkdir()
    write(raw, f"plans:\n  - plan_id: a\n    documents:\n      - path: {path}\n")
    with pytest.raises(ManifestError, match="outside raw|absolute"):
        load_manifest(raw)


def test_symlink_escaping_raw_is_refused(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (tmp_path / "secret.txt").write_text("x")
    (raw / "link.txt").symlink_to(tmp_path / "secret.txt")
    write(raw, "plans:\n  - plan_id: a\n    documents:\n      - path: link.txt\n")
    with pytest.raises(ManifestError, match="outside raw"):
        load_manifest(raw)


def test_missing_file_unknown_kind_and_duplicate_plan(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    write(tmp_path, "plans:\n  - plan_id: a\n    documents:\n      - path: nope.txt\n")
    with pytest.raises(ManifestError, match="does not exist"):
        load_manifest(tmp_path)
    write(tmp_path, "plans:\n  - plan_id: a\n    documents:\n      - path: a.txt\n        kind: minutes\n")
    with pytest.raises(ManifestError, match="unknown kind 'minutes'"):
        load_manifest(tmp_path)
    write(tmp_path, "plans:\n  - plan_id: a\n  - plan_id: a\n")
    with pytest.raises(ManifestError, match="line 3.*duplicate plan_id"):
        load_manifest(tmp_path)


def test_unlisted_documents_are_discovered_with_a_warning(tmp_path):
    (tmp_path / "city").mkdir()
    (tmp_path / "city" / "sheets.txt").write_text("x")
    write(tmp_path, "plans: []\n")
    m = load_manifest(tmp_path)
    assert [(d.rel_path, d.plan_id, d.listed) for d in m.documents] == [("city/sheets.txt", "city", False)]
    assert "not listed" in m.warnings[0]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("issuer", "123", "issuer must be text, not int 123"),
        ("title", "[a, b]", "title must be text, not list"),
        ("prefecture", "{x: 1}", "prefecture must be text, not dict"),
    ],
)
def test_text_fields_of_another_type_are_refused_with_their_line(tmp_path, field, value, message):
    write(tmp_path, f"plans:\n  - plan_id: a\n    {field}: {value}\n")
    with pytest.raises(ManifestError, match=rf"sources.yaml line 2 \(plan a\): {re.escape(message)}"):
        load_manifest(tmp_path)
