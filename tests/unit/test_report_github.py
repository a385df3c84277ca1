"""GitHub Actions: escaped `::error` annotations and the job summary, only inside Actions."""

import io
from pathlib import Path

import pytest
from rundir_builder import Job, T, build_run, sample_run
from test_progress_events import task_finished

from qaagent.evidence.models import Category
from qaagent.model.outcomes import TaskOutcome
from qaagent.model.results import TaskResult
from qaagent.reporting import write_reports
from qaagent.reporting.github import (
    MAX_STEP_SUMMARY,
    annotated_failures,
    escape_data,
    escape_property,
    workspace_path,
)
from qaagent.reporting.markdown import truncate_markdown
from qaagent.reporting.progress import PlainProgress
from qaagent.reporting.summary import FailureSummary


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


def failure(task: str, number: int) -> FailureSummary:
    return FailureSummary(
        task=task,
        test_id=f"t.py::test_{number}",
        name=f"test_{number}",
        status="failed",
        category=Category.assertion,
        message="assert 1 == 2",
        suggestion=None,
        file="t.py",
        line=number,
        attempts=1,
    )


def test_ten_annotations_each_failing_task_first_then_the_rest_in_turn() -> None:
    failures = [failure("unit", n) for n in range(8)]
    failures += [failure("api", n) for n in range(3)] + [failure("e2e", n) for n in range(5)]
    chosen = annotated_failures(failures)
    assert [(item.task, item.line) for item in chosen] == [
        ("unit", 0),
        ("api", 0),
        ("e2e", 0),
        ("unit", 1),
        ("api", 1),
        ("e2e", 1),
        ("unit", 2),
        ("api", 2),
        ("e2e", 2),
        ("unit", 3),
    ]
    assert annotated_failures(failures[:2]) == failures[:2]


@pytest.mark.parametrize(
    ("file", "folder", "expected"),
    [
        ("tests/test_x.py", Path("/ws/repo/sub"), "sub/tests/test_x.py"),
        ("../shared/test_y.py", Path("/ws/repo/sub"), "shared/test_y.py"),
        ("/ws/repo/sub/t.py", Path("/ws/repo/other"), "sub/t.py"),
        ("tests/test_x.py", Path("/elsewhere"), None),
        ("tests/test_x.py", None, "tests/test_x.py"),
        (None, Path("/ws/repo"), None),
    ],
)
def test_annotation_paths_are_relative_to_the_workspace_not_the_suite(
    file: str | None, folder: Path | None, expected: str | None
) -> None:
    assert workspace_path(file, folder, "/ws/repo") == expected


def test_failures_beyond_the_annotations_are_counted_in_the_job_summary(tmp_path: Path) -> None:
    tests = [T(f"t.py::test_{n}", ["failed"], message="m", file="t.py", line=n) for n in range(13)]
    run_dir = build_run(tmp_path / "runs", "r1", [Job("unit", tests=tests)])
    step_summary = tmp_path / "step_summary.md"
    out = io.StringIO()
    environ = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(step_summary)}
    write_reports(run_dir, ["md"], environ=environ, stdout=out)
    assert len(out.getvalue().splitlines()) == 10
    assert all(line.startswith("::error ") for line in out.getvalue().splitlines())
    assert "3 more failures have no annotation" in step_summary.read_text(encoding="utf-8")


def test_a_huge_job_summary_is_cut_under_github_s_limit_with_a_pointer(tmp_path: Path) -> None:
    message = "x" * 150
    tests = [T(f"t.py::test_{n}_{'y' * 150}", ["failed"], message=message) for n in range(40)]
    run_dir = build_run(tmp_path / "runs", "r1", [Job("unit", tests=tests)])
    step_summary = tmp_path / "step_summary.md"
    step_summary.write_text("e" * (MAX_STEP_SUMMARY - 2000), encoding="utf-8")
    write_reports(run_dir, ["md"], environ={"GITHUB_STEP_SUMMARY": str(step_summary)})
    text = step_summary.read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) <= MAX_STEP_SUMMARY
    assert text.rstrip().endswith("in the run folder, part of the run's evidence artifact.")
    assert str(run_dir / "reports" / "report.html") in text


def test_truncation_keeps_whole_lines_within_the_byte_limit() -> None:
    text = "héllo\n" * 10
    cut = truncate_markdown(text, 40, "cut")
    assert cut == "héllo\n" * 5 + "\ncut\n"
    assert len(cut.encode("utf-8")) <= 40
    assert truncate_markdown(text, 1000, "cut") == text
    assert truncate_markdown(text, 3, "cut") == ""


def test_a_failing_tasks_block_is_a_group_whose_output_cannot_issue_commands() -> None:
    stream = io.StringIO()
    progress = PlainProgress(stream, groups=True)
    result = TaskResult(
        task="unit",
        suite="unit",
        kind="pytest",
        outcome=TaskOutcome.failed,
        tail=["::endgroup::", "::error::forged"],
    )
    progress(task_finished(result))
    lines = stream.getvalue().splitlines()
    assert lines[1] == "::group::unit: failed"
    token = lines[2].removeprefix("::stop-commands::")
    assert len(token) == 16
    assert lines[3:7] == ["── unit: failed ──", "::endgroup::", "::error::forged", f"::{token}::"]
    assert lines[7] == "::endgroup::"


def test_a_path_relative_to_a_folder_above_the_suites_is_found_there(tmp_path: Path) -> None:
    (tmp_path / "sub" / "tests").mkdir(parents=True)
    (tmp_path / "sub" / "tests" / "test_x.py").touch()
    found = workspace_path("sub/tests/test_x.py", tmp_path / "sub", str(tmp_path))
    assert found == "sub/tests/test_x.py"
    assert workspace_path("tests/test_x.py", tmp_path / "sub", str(tmp_path)) == (
        "sub/tests/test_x.py"
    )
