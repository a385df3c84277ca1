"""Score one model on every case and write the results as JUnit XML, one testcase per prompt.

Usage: python -m evals.run_evals --model keyword-stub --workers 4 --junit results.xml
Cases run on `--workers` threads (qaagent passes its `{workers}`); each prints a progress line
as it ends and, under qaagent, reaches its live feed with the tokens it used as its cost.
Exit status: 0 when every case reaches the minimum score, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from evals.cases import CASES, Case, score
from evals.live import LiveFeed
from evals.models import MODELS, ask


@dataclass(frozen=True)
class Result:
    """How one model did on one case."""

    case: Case
    answer: str
    score: float
    seconds: float


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Options; --junit defaults to QAAGENT_JUNIT and --min-score to EVALS_MIN_SCORE."""
    parser = argparse.ArgumentParser(prog="python -m evals.run_evals", description=__doc__)
    parser.add_argument("--model", required=True, choices=sorted(MODELS))
    parser.add_argument("--junit", type=Path, default=os.environ.get("QAAGENT_JUNIT"))
    parser.add_argument("--workers", type=positive, default=1, help="cases asked at once")
    parser.add_argument(
        "--min-score", type=float, default=float(os.environ.get("EVALS_MIN_SCORE", "1.0"))
    )
    args = parser.parse_args(argv)
    if args.junit is None:
        parser.error("--junit is required when QAAGENT_JUNIT is not set")
    return args


def positive(text: str) -> int:
    """A count of at least 1, for --workers."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def test_id(model: str, case: Case) -> str:
    """The id qaagent reads from this case's JUnit testcase: `classname::name`."""
    return f"evals.{model}::{case.name}"


def tokens(result: Result) -> int:
    """What the call cost, counted as a hosted model bills it: words in and out."""
    return len(result.case.question.split()) + len(result.answer.split())


def evaluate(model: str, case: Case, feed: LiveFeed) -> Result:
    """Ask the model one question and score its answer."""
    feed.write(event="started", test=test_id(model, case))
    started = time.perf_counter()
    answer = ask(model, case.question)
    return Result(case, answer, score(case, answer), time.perf_counter() - started)


class Progress:
    """Counts the cases as they end and says each one, with the time the rest should take.

    Only the thread that collects the results calls it, so it needs no lock.
    """

    def __init__(self, model: str, total: int, min_score: float, feed: LiveFeed) -> None:
        self.model, self.total, self.min_score, self.feed = model, total, min_score, feed
        self.done = 0
        self.started = time.perf_counter()

    def finished(self, result: Result) -> None:
        """One progress line and one feed line for a case that ended."""
        passed = result.score >= self.min_score
        self.feed.write(
            test=test_id(self.model, result.case),
            outcome="passed" if passed else "failed",
            duration=round(result.seconds, 6),
            message=None if passed else failure_message(result, self.min_score),
            cost=tokens(result),
        )
        self.done += 1
        elapsed = time.perf_counter() - self.started
        eta = elapsed / self.done * (self.total - self.done)
        mark = "\u2705" if passed else "\u274c"
        print(
            f"[{self.done}/{self.total}] {mark} {result.case.name} "
            f"conf={result.score:.2f} (ETA: {eta:.1f}s)",
            flush=True,
        )


def failure_message(result: Result, min_score: float) -> str:
    """Why a case failed, as its JUnit failure says."""
    return f"score {result.score:.2f} < {min_score:.2f}"


def evaluate_all(model: str, workers: int, min_score: float, feed: LiveFeed) -> list[Result]:
    """Every case, asked `workers` at a time; the results in the order of the cases."""
    feed.write(event="collected", count=len(CASES))
    progress = Progress(model, len(CASES), min_score, feed)
    results: dict[str, Result] = {}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="eval") as pool:
        futures = [pool.submit(evaluate, model, case, feed) for case in CASES]
        for future in as_completed(futures):
            result = future.result()
            progress.finished(result)
            results[result.case.name] = result
    return [results[case.name] for case in CASES]


def junit_tree(model: str, results: list[Result], min_score: float) -> ET.ElementTree:
    """A JUnit document with one testcase per case; low scores are failures."""
    failures = [result for result in results if result.score < min_score]
    suite = ET.Element(
        "testsuite",
        name=f"evals[model={model}]",
        tests=str(len(results)),
        failures=str(len(failures)),
        errors="0",
        time=f"{sum(result.seconds for result in results):.3f}",
    )
    for result in results:
        testcase = ET.SubElement(
            suite,
            "testcase",
            classname=f"evals.{model}",
            name=result.case.name,
            time=f"{result.seconds:.3f}",
        )
        if result in failures:
            failure = ET.SubElement(testcase, "failure", message=failure_message(result, min_score))
            failure.text = f"expected facts: {', '.join(result.case.facts)}"
        output = ET.SubElement(testcase, "system-out")
        output.text = f"Q: {result.case.question}\nA: {result.answer}\nscore: {result.score:.2f}\n"
    ET.indent(suite)
    return ET.ElementTree(suite)


def main(argv: list[str] | None = None) -> int:
    """Run every case against the chosen model; the exit status says whether all passed."""
    args = parse_args(argv)
    results = evaluate_all(args.model, args.workers, args.min_score, LiveFeed())
    for result in results:
        verdict = "pass" if result.score >= args.min_score else "FAIL"
        print(f"{verdict}  {result.score:.2f}  {result.case.name}: {result.answer}")
    passed = sum(result.score >= args.min_score for result in results)
    print(
        f"{args.model}: {passed}/{len(results)} cases passed (minimum score {args.min_score:.2f})"
    )
    args.junit.parent.mkdir(parents=True, exist_ok=True)
    junit_tree(args.model, results, args.min_score).write(
        args.junit, encoding="utf-8", xml_declaration=True
    )
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
