"""summary.json and summary.md: versioned schema, counts, failures with categories, parallelism."""

import json
from pathlib import Path

import jsonschema
import pytest
from rundir_builder import Job, T, build_run, sample_run

from qaagent.errors import UsageError
from qaagent.evidence.stored import load_run
from qaagent.reporting import ALL_FORMATS, parse_formats, write_reports
from qaagent.reporting.markdown import code_span
from qaagent.reporting.summary import SUMMARY_SCHEMA_VERSION, RunSummary


def summary_of(run_dir: Path) -> dict[str, object]:
    (path,) = write_reports(run_dir, ["json"], environ={})
    data: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_summary_json_follows_its_published_schema(tmp_path: Path) -> None:
    data = summary_of(sample_run(tmp_path))
    jsonschema.validate(data, RunSummary.model_json_schema(mode="serialization"))
    assert data["schema_version"] == SUMMARY_SCHEMA_VERSION
    assert set(data) == {"schema_version", "run", "counts", "timings", "tasks", "failures"}


def test_summary_has_counts_timings_parallelism_and_categorised_failures(tmp_path: Path) -> None:
    summary = RunSummary.model_validate(summary_of(sample_run(tmp_path)))
    assert summary.run.status.value == "error"
    assert summary.counts.model_dump() == {
        "total": 6,
        "passed": 2,
        "failed": 1,
        "errors": 1,
        "skipped": 1,
        "flaky": 1,
        "xfailed": 0,
        "xpassed": 0,
        "timed_out": 0,
        "interrupted": 0,
        "not_run": 0,
        "cost": None,
    }
    assert summary.timings.wall_time == 6.0
    assert summary.timings.task_time == 9.5
    assert summary.timings.parallelism == pytest.approx(9.5 / 6.0, abs=0.01)
    assert summary.timings.speedup is None
    assert [(f.task, f.test_id, f.category.value) for f in summary.failures] == [
        ("unit", "tests/test_cart.py::test_total", "assertion"),
        ("evals[model=haiku]", None, "timeout"),
    ]
    assert summary.failures[0].attempts == 2
    assert summary.failures[0].line == 17
    assert [task.worker for task in summary.tasks] == [0, 1, 1]


def test_markdown_summary_lists_tasks_and_failures(tmp_path: Path) -> None:
    (path,) = write_reports(sample_run(tmp_path), ["md"], environ={})
    text = path.read_text(encoding="utf-8")
    assert text.startswith("## 💥 qaagent shop · run `20261122-060000-a1b2`: error")
    assert "**6 tests**: 2 passed, 1 failed, 1 errors, 1 skipped, 1 flaky" in text
    assert "parallelism 1.58x" in text
    assert "speed-up" not in text
    assert "| evals[model=haiku] | ⏱️ timed out | 0 | 0 | 1 | 0 | 0 | 2.5s |" in text
    assert "- `tests/test_cart.py::test_total` (unit) · assertion: AssertionError" in text


def test_markdown_table_cells_cannot_break_the_table(tmp_path: Path) -> None:
    run_dir = build_run(
        tmp_path, "r1", [Job("a|b", tests=[T("t::x", ["failed"], message="x | y")])]
    )
    (path,) = write_reports(run_dir, ["md"], environ={})
    text = path.read_text(encoding="utf-8")
    assert "| a\\|b | ❌ failed |" in text
    assert "assertion: x \\| y" in text


HOSTILE = "</pre><script>alert(1)</script> & <img src=x onerror=alert(2)>"


def test_markdown_shows_html_in_messages_and_names_as_text(tmp_path: Path) -> None:
    test = T("t::<b>x</b>", ["failed"], message=HOSTILE)
    run_dir = build_run(tmp_path, "r1", [Job("<i>task</i>", tests=[test])], project="<h1>shop")
    (path,) = write_reports(run_dir, ["md"], environ={})
    text = path.read_text(encoding="utf-8")
    assert "<script>" not in text and "<img" not in text and "</pre>" not in text
    assert "<i>" not in text and "<h1>" not in text
    assert (
        "assertion: &lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; "
        "&lt;img src=x onerror=alert(2)&gt;"
    ) in text
    assert "| &lt;i&gt;task&lt;/i&gt; | ❌ failed |" in text
    assert text.startswith("## ❌ qaagent &lt;h1&gt;shop · run `r1`: failed")


@pytest.mark.parametrize(
    ("subject", "span"),
    [
        ("t::a`b", "``t::a`b``"),
        ("t::a``b```c", "````t::a``b```c````"),
        ("`t::x`", "`` `t::x` ``"),
    ],
)
def test_a_test_id_cannot_close_its_code_span_early(subject: str, span: str) -> None:
    assert code_span(subject) == span


def test_a_test_id_with_backticks_stays_inside_its_code_span(tmp_path: Path) -> None:
    test = T("t::x` <script>y</script> `", ["failed"], message="boom")
    run_dir = build_run(tmp_path, "r1", [Job("unit", tests=[test])])
    (path,) = write_reports(run_dir, ["md"], environ={})
    text = path.read_text(encoding="utf-8")
    assert "- `` t::x` <script>y</script> ` `` (unit) · assertion: boom" in text


def test_all_formats_are_written_into_the_reports_folder(tmp_path: Path) -> None:
    run_dir = sample_run(tmp_path)
    paths = write_reports(run_dir, environ={})
    assert [path.name for path in paths] == [
        "junit.xml",
        "summary.json",
        "summary.md",
        "report.html",
    ]
    assert all(path.parent == run_dir / "reports" and path.stat().st_size for path in paths)
    assert not list((run_dir / "reports").glob(".*tmp"))


def test_report_format_lists_are_checked() -> None:
    assert parse_formats("html, md") == ["html", "md"]
    assert parse_formats("all") == list(ALL_FORMATS)
    with pytest.raises(UsageError, match="pdf"):
        parse_formats("html,pdf")


def test_reports_can_be_written_before_the_manifest_file_exists(tmp_path: Path) -> None:
    run_dir = sample_run(tmp_path)
    manifest_file = run_dir / "manifest.json"
    manifest = load_run(run_dir).manifest
    manifest_file.unlink()
    paths = write_reports(run_dir, ["json", "junit"], environ={}, manifest=manifest)
    assert json.loads(paths[0].read_text(encoding="utf-8"))["run"]["id"] == manifest.run_id
    assert not manifest_file.exists()


def test_summary_schema_changes_only_on_purpose() -> None:
    """Additions keep schema_version; renames and removals raise it. Update the snapshot then."""
    snapshot = (
        Path(__file__).parents[1] / "fixtures" / f"summary-schema-v{SUMMARY_SCHEMA_VERSION}.json"
    )
    expected = json.loads(snapshot.read_text(encoding="utf-8"))
    assert RunSummary.model_json_schema(mode="serialization") == expected
