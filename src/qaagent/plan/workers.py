"""How many workers a run uses: tasks at once, shards of a split suite, `{workers}` per task."""

from __future__ import annotations

import os
from dataclasses import dataclass

from qaagent.config.models import RunSettings


@dataclass(frozen=True)
class WorkerBudget:
    """The processors a run may use (max_workers, else all), and whether its tasks share them."""

    total: int
    parallel: bool
    limit: int | None = None

    @classmethod
    def of(cls, settings: RunSettings) -> WorkerBudget:
        """The budget the run settings give."""
        total = settings.max_workers or os.cpu_count() or 1
        return cls(total, settings.parallel, settings.max_workers)

    @property
    def most_shards(self) -> int:
        """Most shards of a split suite: the whole budget, and 1 when sequential."""
        return self.total if self.parallel else 1

    def at_once(self, tasks: int) -> int:
        """Tasks running at once: all of them up to max_workers, and 1 when sequential."""
        return min(self.limit or tasks, tasks) if self.parallel else 1

    def slots(self, tasks: int) -> int:
        """Workers each task may use itself: the budget shared by the tasks at once."""
        return max(1, self.total // max(1, self.at_once(tasks)))
