"""Every link of a real run's HTML report opens an existing file, wherever the report is written."""

import os
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from test_reports_run_all import qaagent

from qaagent.evidence.stored import resolve_run

FIXTURE = Path(__file__).parents[1] / "fixtures" / "report_project"
LINK_ATTRIBUTES = frozenset({"href", "src"})


class LinkCollector(HTMLParser):
    """Every href and src of a page, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.links.extend(value for name, value in attrs if name in LINK_ATTRIBUTES and value)


def local_targets(report: Path) -> list[Path]:
    """The files a browser would open for the page's links to local files."""
    collector = LinkCollector()
    collector.feed(report.read_text(encoding="utf-8"))
    targets: list[Path] = []
    for link in collector.links:
        parts = urlsplit(link)
        if parts.scheme in ("data", "http", "https") or link.startswith("#"):
            continue
        if parts.scheme == "file":
            targets.append(Path(unquote(parts.path)))
        else:
            assert not parts.scheme, link
            targets.append(Path(os.path.normpath(report.parent / unquote(parts.path))))
    return targets


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report fixture after one real run: a failed, a flaky, a passed and a timed-out task."""
    project = tmp_path_factory.mktemp("links") / "project"
    shutil.copytree(FIXTURE, project)
    result = qaagent(project, "run-all")
    assert result.returncode == 3, result.stdout + result.stderr
    return project


def assert_links_resolve(report: Path, run_dir: Path) -> None:
    targets = local_targets(report)
    missing = [str(target) for target in targets if not target.is_file()]
    assert missing == []
    artifacts = run_dir.resolve() / "artifacts"
    assert {target.relative_to(artifacts).as_posix() for target in targets} >= {
        "unit/output.log",
        "unit/attempt-1/junit.xml",
        "unit/attempt-2/junit.xml",
        "checks/output.log",
        "stuck/output.log",
    }


def test_the_report_run_all_writes_links_to_existing_files(project: Path) -> None:
    run_dir = resolve_run(project / ".qaagent" / "runs", "latest")
    assert_links_resolve(run_dir / "reports" / "report.html", run_dir)


@pytest.mark.parametrize(
    "where",
    ["outside/elsewhere/r.html", "project/docs/r.html", "r.html"],
    ids=["outside-the-project", "inside-the-project", "next-to-the-project"],
)
def test_a_report_written_anywhere_links_to_existing_files(project: Path, where: str) -> None:
    report = project.parent / where
    result = qaagent(project, "report", "latest", "--format", "html", "--output", str(report))
    assert result.returncode == 0, result.stdout + result.stderr
    assert Path(result.stdout.strip()) == report.resolve()
    assert_links_resolve(report, resolve_run(project / ".qaagent" / "runs", "latest"))


def test_a_relative_output_path_is_taken_from_the_current_folder(project: Path) -> None:
    result = qaagent(project / "tests", "report", "latest", "-f", "html", "-o", "../../rel/r.html")
    assert result.returncode == 0, result.stdout + result.stderr
    report = project.parent / "rel" / "r.html"
    assert Path(result.stdout.strip()) == report.resolve()
    assert_links_resolve(report, resolve_run(project / ".qaagent" / "runs", "latest"))
