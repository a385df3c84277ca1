"""Score one model on every case and write the results as JUnit XML, one testcase per prompt.

Usage: python -m evals.run_evals --model keyword-stub --junit results.xml
Exit status: 0 when every case reaches the minimum score, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from evals.cases import CASES, Case, score
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
    parser.add_argument(
        "--min-score", type=float, default=float(os.environ.get("EVALS_MIN_SCORE", "1.0"))
    )
    args = parser.parse_args(argv)
    if args.junit is None:
        parser.error("--junit is required when QAAGENT_JUNIT is not set")
    return args


def evaluate(model: str, case: Case) -> Result:
    """Ask the model one question and score its answer."""
    started = time.perf_counter()
    answer = ask(model, case.question)
    return Result(case, answer, score(case, answer), time.perf_counter() - started)


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
            failure = ET.SubElement(
                testcase, "failure", message=f"score {result.score:.2f} < {min_score:.2f}"
            )
            failure.text = f"expected facts: {', '.join(result.case.facts)}"
        output = ET.SubElement(testcase, "system-out")
        output.text = f"Q: {result.case.question}\nA: {result.answer}\nscore: {result.score:.2f}\n"
    ET.indent(suite)
    return ET.ElementTree(suite)


def main(argv: list[str] | None = None) -> int:
    """Run every case against the chosen model; the exit status says whether all passed."""
    args = parse_args(argv)
    results = [evaluate(args.model, case) for case in CASES]
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
