"""GitHub Actions: escaped `::error` annotations and the job summary, only inside Actions."""

import io
from pathlib import Path

import pytest
from rundir_builder import Job, T, build_run, sample_run

from qaagent.reporting import write_reports
from qaagent.reporting.github import escape_data, escape_property


def test_escaping_follows_the_workflow_command_rules() -> None:
    assert escape_data("100% done\r\nnext: a, b") == "100%25 done%0D%0Anext: a, b"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_annotations_are_printed_only_inside_github_actions(tmp_path: Path) -> None:
    run_dir = sample_run(tmp_path)
    quiet = io.StringIO()
    write_reports(run_dir, ["md"], environ={}, stdout=quiet)
    assert quiet.getvalue() == ""
    out = io.StringIO()
    write_reports(run_dir, ["md"], environ={"GITHUB_ACTIONS": "true"}, stdout=out)
    assert out.getvalue().splitlines() == [
        "::error file=tests/test_cart.py,line=17,"
        "title=unit%3A tests/test_cart.py%3A%3Atest_total (assertion)"
        "::AssertionError: assert 41 == 42%0A  where 41 = total(cart)",
        "::error title=evals[model=haiku]%3A task evals[model=haiku] (timeout)"
        "::timed out after 2.5s",
    ]


def test_absolute_paths_are_made_relative_to_the_workspace(tmp_path: Path) -> None:
    test = T("t.py::test_x", ["failed"], message="50% off", file="/ws/repo/t.py", line=3)
    outside = T("u.py::test_y", ["failed"], message="m", file="/elsewhere/u.py", line=9)
    run_dir = build_run(tmp_path, "r1", [Job("unit", tests=[test, outside])])
    out = io.StringIO()
    environ = {"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": "/ws/repo"}
    write_reports(run_dir, ["md"], environ=environ, stdout=out)
    first, second = out.getvalue().splitlines()
    assert first.startswith("::error file=t.py,line=3,title=")
    assert first.endswith("::50%25 off")
    assert second.startswith("::error title=unit%3A u.py%3A%3Atest_y")


def test_step_summary_is_appended_to_not_overwritten(tmp_path: Path) -> None:
    run_dir = sample_run(tmp_path / "runs")
    step_summary = tmp_path / "step_summary.md"
    step_summary.write_text("# earlier step\n", encoding="utf-8")
    environ = {"GITHUB_STEP_SUMMARY": str(step_summary)}
    write_reports(run_dir, ["md"], environ=environ, stdout=io.StringIO())
    write_reports(run_dir, ["md"], environ=environ, stdout=io.StringIO())
    text = step_summary.read_text(encoding="utf-8")
    assert text.startswith("# earlier step\n")
    assert text.count("qaagent shop · run `20261122-060000-a1b2`") == 2


def test_html_in_a_failure_message_reaches_the_job_summary_as_text(tmp_path: Path) -> None:
    message = "</pre><script>alert(1)</script>\n```\n# not a heading"
    run_dir = build_run(
        tmp_path / "runs", "r1", [Job("unit", tests=[T("t::x", ["failed"], message=message)])]
    )
    step_summary = tmp_path / "step_summary.md"
    write_reports(run_dir, ["md"], environ={"GITHUB_STEP_SUMMARY": str(step_summary)})
    text = step_summary.read_text(encoding="utf-8")
    assert "<script>" not in text and "</pre>" not in text
    assert (
        "- `t::x` (unit) · assertion: &lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;\n" in text
    )


def test_nothing_is_published_without_the_markdown_format(tmp_path: Path) -> None:
    step_summary = tmp_path / "step_summary.md"
    out = io.StringIO()
    environ = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(step_summary)}
    write_reports(sample_run(tmp_path / "runs"), ["junit", "json"], environ=environ, stdout=out)
    assert out.getvalue() == ""
    assert not step_summary.exists()


def test_a_step_summary_that_cannot_be_written_is_a_warning_not_a_lost_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = sample_run(tmp_path)
    missing = tmp_path / "no-such-folder" / "summary.md"
    written = write_reports(
        run_dir, ["md"], environ={"GITHUB_STEP_SUMMARY": str(missing)}, stdout=io.StringIO()
    )
    assert [path.name for path in written] == ["summary.md"]
    assert capsys.readouterr().err == (
        f"qaagent: warning: the job summary was not written: GITHUB_STEP_SUMMARY {missing} "
        "cannot be appended to (No such file or directory).\n"
    )
