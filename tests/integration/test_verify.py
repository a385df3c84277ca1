"""`qaagent verify` on the run folder of a real run: intact, changed, deleted, added, crafted."""

import shutil
from pathlib import Path

import pytest
from qaagent_process import qaagent
from test_run_all import FIXTURE, run_dirs

from qaagent.evidence.models import MANIFEST_NAME, EvidenceFile, Manifest


@pytest.fixture(scope="module")
def real_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run fixture after one real run of its pytest suites, one of which fails."""
    project = tmp_path_factory.mktemp("verify") / "project"
    shutil.copytree(FIXTURE, project)
    result = qaagent("run-all", "--suite", "unit", "--suite", "checks", cwd=project)
    assert result.returncode == 1, result.stdout + result.stderr
    return project


@pytest.fixture
def run_dir(real_project: Path, tmp_path: Path) -> Path:
    """A copy of the real run's folder that a test may damage."""
    (original,) = run_dirs(real_project)
    return Path(shutil.copytree(original, tmp_path / original.name, symlinks=True))


def test_an_intact_run_passes(real_project: Path) -> None:
    (original,) = run_dirs(real_project)
    indexed = len(Manifest.model_validate_json((original / MANIFEST_NAME).read_bytes()).files)

    result = qaagent("verify", cwd=real_project)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        f"Run {original.name} is intact: its {indexed} indexed files match the manifest."
    ]


def test_a_changed_a_deleted_and_an_added_file_are_each_named(run_dir: Path) -> None:
    with (run_dir / "artifacts" / "unit" / "output.log").open("a", encoding="utf-8") as log:
        log.write("1 failed\n")
    (run_dir / "reports" / "summary.md").unlink()
    (run_dir / "artifacts" / "unit" / "planted.txt").write_text("x", encoding="utf-8")

    result = qaagent("verify", str(run_dir), cwd=run_dir.parent)

    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "missing: reports/summary.md",
        "changed: artifacts/unit/output.log",
        "extra: artifacts/unit/planted.txt",
        f"Run {run_dir.name} is not as qaagent wrote it: 1 missing, 1 changed, 1 extra "
        f"(the manifest indexes {len(read_manifest(run_dir).files)} files).",
    ]


def test_an_index_entry_leading_out_of_the_run_is_a_problem_and_is_not_read(
    run_dir: Path,
) -> None:
    secret = run_dir.parent / "secret.txt"
    secret.write_text("SECRET\n", encoding="utf-8")
    manifest = read_manifest(run_dir)
    manifest.files.append(EvidenceFile(path="../secret.txt", sha256="0" * 64, size=7))
    manifest.files.append(EvidenceFile(path=str(secret), sha256="0" * 64, size=7))
    (run_dir / MANIFEST_NAME).write_text(manifest.model_dump_json(), encoding="utf-8")

    result = qaagent("verify", str(run_dir), cwd=run_dir.parent)

    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.splitlines()[:2] == ["outside: ../secret.txt", f"outside: {secret}"]
    assert "2 outside" in result.stdout.splitlines()[-1]
    assert "SECRET" not in result.stdout


def test_a_run_without_a_readable_manifest_is_a_usage_error(run_dir: Path) -> None:
    (run_dir / MANIFEST_NAME).write_text("{not json", encoding="utf-8")
    damaged = qaagent("verify", str(run_dir), cwd=run_dir.parent)
    (run_dir / MANIFEST_NAME).unlink()
    missing = qaagent("verify", str(run_dir), cwd=run_dir.parent)

    assert damaged.returncode == 2
    assert damaged.stderr.startswith(
        f"qaagent: error: {run_dir / MANIFEST_NAME} is not a valid manifest: "
    )
    assert missing.returncode == 2
    assert missing.stderr.startswith(f"qaagent: error: {run_dir} has no {MANIFEST_NAME}")
    for result in (damaged, missing):
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def read_manifest(run_dir: Path) -> Manifest:
    return Manifest.model_validate_json((run_dir / MANIFEST_NAME).read_bytes())
