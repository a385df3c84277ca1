"""`qaagent runs list|show|prune|flaky` and `qaagent report` through the real command line."""

from datetime import timedelta
from pathlib import Path

import xmlschema
from junitparser.xunit2 import JUnitXml
from qaagent_process import qaagent
from rundir_builder import START, Job, T, build_run, sample_run

from qaagent.evidence import history
from qaagent.evidence.models import MANIFEST_NAME, Manifest
from qaagent.model.outcomes import TaskOutcome

XSD = Path(__file__).parents[1] / "fixtures" / "xsd" / "junit-10.xsd"


def make_runs(runs_dir: Path) -> None:
    """Three runs an hour apart; `t::retry` is flaky in the middle one."""
    for hour, retry in enumerate([["passed"], ["failed", "passed"], ["passed"]]):
        jobs = [Job("unit", tests=[T("t::stable"), T("t::retry", retry)], duration=2.0 + hour)]
        build_run(runs_dir, f"2026112{hour}-aaaa", jobs, started_at=START + timedelta(hours=hour))
    sample_run(runs_dir, "20261123-bbbb", started_at=START + timedelta(hours=3))


def test_runs_list_shows_newest_first_with_counts(tmp_path: Path) -> None:
    make_runs(tmp_path / "runs")
    result = qaagent("runs", "list", "--runs-dir", "runs", "--limit", "3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "id",
        "status",
        "tests",
        "passed",
        "failed",
        "errors",
        "skipped",
        "flaky",
        "wall",
        "started",
    ]
    assert [line.split()[0] for line in lines[1:4]] == [
        "20261123-bbbb",
        "20261122-aaaa",
        "20261121-aaaa",
    ]
    assert lines[1].split()[1:9] == ["error", "6", "2", "1", "1", "1", "1", "6.0s"]
    assert lines[4] == "1 older runs not shown (--limit)."


def test_runs_show_prints_tasks_failures_and_diagnostics(tmp_path: Path) -> None:
    make_runs(tmp_path / "runs")
    result = qaagent("runs", "show", "latest", "--runs-dir", "runs", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("Run 20261123-bbbb: error (exit code 3)")
    assert "evals[model=haiku]  timed-out" in out
    assert "tests/test_cart.py::test_total [unit] assertion at tests/test_cart.py:17" in out
    assert "suggestion: Look at the end of the task's log." in out
    assert f"Run directory: {tmp_path / 'runs' / '20261123-bbbb'}" in out


def test_unknown_or_ambiguous_run_exits_2_with_one_paragraph(tmp_path: Path) -> None:
    make_runs(tmp_path / "runs")
    unknown = qaagent("runs", "show", "zzz", "--runs-dir", "runs", cwd=tmp_path)
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("qaagent: error: No run 'zzz' in ")
    assert "Traceback" not in unknown.stderr
    ambiguous = qaagent("report", "2026112", "--runs-dir", "runs", cwd=tmp_path)
    assert ambiguous.returncode == 2
    assert "ambiguous: it starts 4 run ids" in ambiguous.stderr


def test_runs_dir_comes_from_the_profile(tmp_path: Path) -> None:
    (tmp_path / "qaagent.yaml").write_text(
        "project: {name: shop}\nrun: {runs_dir: store}\n", encoding="utf-8"
    )
    make_runs(tmp_path / "store")
    (tmp_path / "elsewhere").mkdir()
    result = qaagent(
        "runs",
        "show",
        "20261121",
        "--config",
        str(tmp_path / "qaagent.yaml"),
        cwd=tmp_path / "elsewhere",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Run 20261121-aaaa: passed (exit code 0)")


def test_prune_keeps_the_newest_runs_unfinished_ones_and_history(tmp_path: Path) -> None:
    runs_dir = tmp_path / "runs"
    make_runs(runs_dir)
    history.sync_history(runs_dir)
    (runs_dir / "20261124-in-progress").mkdir()
    (runs_dir / "latest").symlink_to("20261123-bbbb")
    dry = qaagent("runs", "prune", "--keep", "2", "--dry-run", "--runs-dir", "runs", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "would remove 20261120-aaaa" in dry.stdout
    assert (runs_dir / "20261120-aaaa").is_dir()
    result = qaagent("runs", "prune", "--keep", "2", "--runs-dir", "runs", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "removed 20261121-aaaa",
        "removed 20261120-aaaa",
        "2 runs removed, 2 kept.",
    ]
    assert sorted(path.name for path in runs_dir.iterdir()) == [
        "20261122-aaaa",
        "20261123-bbbb",
        "20261124-in-progress",
        "history.sqlite3",
        "latest",
    ]
    assert history.task_durations(runs_dir)["unit"] == 3.5


def test_flaky_lists_tests_that_were_flaky_in_the_last_runs(tmp_path: Path) -> None:
    make_runs(tmp_path / "runs")
    result = qaagent("runs", "flaky", "--last", "4", "--runs-dir", "runs", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()[1:-1]]
    assert rows == [
        ["unit", "t::retry", "3", "2", "0", "1", "20261121-aaaa"],
        ["unit", "tests/test_cart.py::test_discount", "1", "0", "0", "1", "20261123-bbbb"],
    ]
    recent = qaagent("runs", "flaky", "--last", "1", "--runs-dir", "runs", cwd=tmp_path)
    assert "t::retry" not in recent.stdout


def test_report_recreates_a_report_and_prints_its_path(tmp_path: Path) -> None:
    make_runs(tmp_path / "runs")
    result = qaagent("report", "20261123", "--format", "junit", "--runs-dir", "runs", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    path = Path(result.stdout.strip())
    assert path == tmp_path / "runs" / "20261123-bbbb" / "reports" / "junit.xml"
    xmlschema.XMLSchema(XSD).validate(path)
    assert JUnitXml.fromfile(str(path)).tests == 6
    output = tmp_path / "out" / "page.html"
    html = qaagent("report", "latest", "--output", str(output), "--runs-dir", "runs", cwd=tmp_path)
    assert html.returncode == 0, html.stderr
    assert html.stdout.strip() == str(output)
    assert "evals[model=haiku]" in output.read_text(encoding="utf-8")
    bad = qaagent("report", "latest", "--format", "pdf", "--runs-dir", "runs", cwd=tmp_path)
    assert bad.returncode == 2


def crafted_run(tmp_path: Path) -> Path:
    """A run folder whose manifest names logs outside it: absolute, `../`, and a symlink out."""
    (tmp_path / "secret.txt").write_text("SECRET-DOTDOT\n", encoding="utf-8")
    (tmp_path / "linked.txt").write_text("SECRET-LINKED\n", encoding="utf-8")
    jobs = [
        Job(name, outcome=TaskOutcome.error, error=f"{name} crashed", log_lines=["own log"])
        for name in ("absolute", "dotdot", "linked")
    ]
    run_dir = build_run(tmp_path / "runs", "20261125-dddd", jobs)
    linked_log = run_dir / "artifacts" / "linked" / "output.log"
    linked_log.unlink()
    linked_log.symlink_to(tmp_path / "linked.txt")
    manifest = Manifest.model_validate_json((run_dir / MANIFEST_NAME).read_bytes())
    manifest.tasks[0].log = "/etc/passwd"
    manifest.tasks[1].log = "../../secret.txt"
    (run_dir / MANIFEST_NAME).write_text(manifest.model_dump_json(), encoding="utf-8")
    return run_dir


def test_report_reads_no_file_outside_the_run_folder(tmp_path: Path) -> None:
    run_dir = crafted_run(tmp_path)
    passwd = Path("/etc/passwd").read_text(encoding="utf-8").splitlines()[0]

    result = qaagent("report", str(run_dir), "-o", "page.html", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    page = (tmp_path / "page.html").read_text(encoding="utf-8")
    for secret in (passwd, "SECRET-DOTDOT", "SECRET-LINKED"):
        assert secret not in page
    for log in ("/etc/passwd", "../../secret.txt", "artifacts/linked/output.log"):
        assert f"qaagent refused to read the log {log}: it lies outside the run folder." in page


def test_evidence_linked_out_of_the_run_folder_is_refused(tmp_path: Path) -> None:
    run_dir = crafted_run(tmp_path)
    diagnostics = run_dir / "evidence" / "diagnostics.json"
    diagnostics.unlink()
    diagnostics.symlink_to(tmp_path / "secret.txt")

    result = qaagent("report", str(run_dir), "-o", "page.html", cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr == (
        f"qaagent: error: {diagnostics} leads outside the run folder {run_dir}; "
        "qaagent does not read it.\n"
    )
    assert not (tmp_path / "page.html").exists()


def test_a_run_directory_path_needs_no_profile(tmp_path: Path) -> None:
    make_runs(tmp_path / "runs")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run_dir = tmp_path / "runs" / "20261123-bbbb"

    shown = qaagent("runs", "show", str(run_dir), cwd=elsewhere)
    made = qaagent("report", str(run_dir), "--format", "md", "-o", "summary.md", cwd=elsewhere)

    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("Run 20261123-bbbb: error (exit code 3)")
    assert made.returncode == 0, made.stderr
    assert (elsewhere / "summary.md").read_text(encoding="utf-8").startswith("## ")


def test_flaky_on_a_missing_runs_folder_says_so_and_creates_nothing(tmp_path: Path) -> None:
    result = qaagent("runs", "flaky", "--runs-dir", "runs", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"No runs in {tmp_path / 'runs'}."
    assert not (tmp_path / "runs").exists()


def test_a_history_that_cannot_be_opened_is_one_paragraph_with_exit_code_2(tmp_path: Path) -> None:
    make_runs(tmp_path / "runs")
    (tmp_path / "runs" / history.HISTORY_NAME).mkdir()
    result = qaagent("runs", "flaky", "--runs-dir", "runs", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(
        f"qaagent: error: The run history {tmp_path / 'runs' / history.HISTORY_NAME} cannot be used"
    )
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_run_killed_before_its_manifest_is_named_as_such(tmp_path: Path) -> None:
    make_runs(tmp_path / "runs")
    killed = tmp_path / "runs" / "20261124-cccc"
    (killed / "artifacts" / "unit").mkdir(parents=True)
    (killed / "artifacts" / "unit" / "output.log").write_text("collected 3 items\n")

    by_id = qaagent("report", "20261124-cccc", "--runs-dir", "runs", cwd=tmp_path)
    by_path = qaagent("runs", "show", str(killed), cwd=tmp_path)
    not_a_run = qaagent("runs", "show", str(tmp_path / "runs"), "--runs-dir", "runs", cwd=tmp_path)

    for result in (by_id, by_path):
        assert result.returncode == 2
        assert result.stderr.startswith(f"qaagent: error: {killed} has no manifest.json: ")
        assert f"the task logs are in {killed / 'artifacts'}" in result.stderr
    assert not_a_run.returncode == 2
    assert not_a_run.stderr.startswith(
        f"qaagent: error: {tmp_path / 'runs'} is not a run directory: it has no manifest.json."
    )


def test_a_report_that_cannot_be_written_is_one_paragraph_with_exit_code_2(
    tmp_path: Path,
) -> None:
    make_runs(tmp_path / "runs")
    (tmp_path / "taken").write_text("a file, not a folder\n")
    result = qaagent(
        "report",
        "latest",
        "-o",
        str(tmp_path / "taken" / "r.html"),
        "--runs-dir",
        "runs",
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"qaagent: error: The report cannot be written: {tmp_path}")
    assert "--output" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
