"""make mutate: mutation testing (mutmut 3) of one module against its fast tests.

    python tests/mutate.py mockserver/faults/rules.py tests/test_faults_rules.py

mutmut writes its mutated copy (``mutants/``) beside the code it mutates, and reads its
settings from ``pyproject.toml``, so it runs in a scratch copy of the project under
``build/mutate/``: the working tree, and anyone running tests on it, never sees a mutant.
Prints the score, the time taken and each survivor with its diff; writes the same to
``build/mutate/survivors.txt``. Not part of make test or CI (see tests/mutation_survivors.md).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "mutate"
COPIED = ("mockserver", "tests", "fixtures", "schemas", "docs")  # what the tests read
MUTMUT = [sys.executable, "-m", "mutmut"]


def settings(module: str, tests: list[str]) -> str:
    """The project's pyproject.toml with a [tool.mutmut] table for this run."""
    selection = ", ".join(json.dumps(test) for test in tests)
    return (ROOT / "pyproject.toml").read_text(encoding="utf-8") + (
        "\n[tool.mutmut]\n"
        'source_paths = ["mockserver"]\n'
        f"only_mutate = [{json.dumps(module)}]\n"
        f"pytest_add_cli_args_test_selection = [{selection}]\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-m", "not slow"]\n'
    )


def copy_project(module: str, tests: list[str]) -> None:
    shutil.rmtree(WORK, ignore_errors=True)  # a fresh run: mutmut would reuse old results
    WORK.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in COPIED:
        shutil.copytree(ROOT / name, WORK / name, ignore=ignore)
    (WORK / "pyproject.toml").write_text(settings(module, tests), encoding="utf-8")


def survivors() -> list[str]:
    listed = subprocess.run(
        [*MUTMUT, "results"], cwd=WORK, capture_output=True, text=True, check=True
    ).stdout
    return [line.split(":")[0].strip() for line in listed.splitlines() if line.strip()]


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    module, tests = argv[0], argv[1:]
    copy_project(module, tests)
    children = str(max(1, (os.cpu_count() or 2) // 2))
    started = time.monotonic()
    subprocess.run([*MUTMUT, "run", "--max-children", children], cwd=WORK, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    took = time.monotonic() - started
    subprocess.run([*MUTMUT, "export-cicd-stats"], cwd=WORK, check=True, capture_output=True)
    stats = json.loads((WORK / "mutants" / "mutmut-cicd-stats.json").read_text())
    left = survivors()
    diffs = [
        subprocess.run(
            [*MUTMUT, "show", name], cwd=WORK, capture_output=True, text=True, check=True
        ).stdout
        for name in left
    ]
    total = stats["total"]
    surviving = stats["survived"] + stats["no_tests"]  # a timeout counts as caught
    score = (
        f"{module} against {' '.join(tests)}: {total} mutants, {surviving} survived "
        f"({surviving / max(total, 1):.1%}), in {took:.0f} s"
    )
    report = "\n".join([score, "", *diffs])
    (WORK / "survivors.txt").write_text(report + "\n", encoding="utf-8")
    print(report)
    print(score)
    print(f"written to {(WORK / 'survivors.txt').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
