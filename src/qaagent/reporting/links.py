"""Links from a report to the files of its run that work wherever the report is written."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePath
from urllib.parse import quote


def relative_href(report_dir: Path, target: Path) -> str:
    """A URL to `target` from a page in `report_dir`: relative, else a file URI (another drive)."""
    try:
        relative = os.path.relpath(target, report_dir)
    except ValueError:
        return target.as_uri()
    return quote(PurePath(relative).as_posix())


@dataclass(frozen=True)
class RunLinks:
    """Links from one report file's folder to the files of one run, both as absolute real paths."""

    run_dir: Path
    report_dir: Path

    @classmethod
    def for_report(cls, run_dir: Path, report: Path) -> RunLinks:
        """Links for a report written to `report`, which need not exist yet."""
        return cls(run_dir=run_dir.resolve(), report_dir=report.parent.resolve())

    def href(self, entry: str) -> str:
        """The link to a file the manifest names, relative to the run directory or absolute."""
        return relative_href(self.report_dir, self.run_dir / entry)
