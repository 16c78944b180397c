"""make mutate: mutation testing (mutmut 3) of the modules where a wrong answer misleads a user.

    python tests/mutate.py                  every group below in turn, then the total
    python tests/mutate.py vendors faults   those groups
    python tests/mutate.py --again vendors  its survivors rerun against today's tests
    python tests/mutate.py --score          the total of the last runs, running nothing
    python tests/mutate.py mockserver/x.py tests/test_x.py   one module against the tests given

Each group's modules are mutated against the fast tests that are meant to catch them (mutmut
then runs, for each mutant, only the tests that reach the mutated function). mutmut writes its
mutated copy (``mutants/``) beside the code it mutates and reads its settings from
``pyproject.toml``, so each group runs in a scratch copy of the project under
``build/mutate/GROUP/``: the working tree, and anyone running tests on it, never sees a mutant.
Prints the score, the time taken and each survivor with its diff, and writes them to
``build/mutate/GROUP/survivors.txt``. A survivor whose name is in a tests/mutation_survivors*.md
file is reported as listed there (an equivalent mutant, with its reason); any other is work to
do. Not part of make test or CI.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "mutate"
COPIED = ("mockserver", "tests", "fixtures", "schemas", "docs")  # what the tests read
MUTMUT = [sys.executable, "-m", "mutmut"]
LISTED = "mutation_survivors*.md"  # in tests/: the equivalent mutants, by name, with reasons
FAST = ("-m", "not slow")


class Group(NamedTuple):
    modules: tuple[str, ...]  # mutmut's only_mutate globs
    tests: tuple[str, ...]  # globs, expanded when a fresh run starts
    pytest_args: tuple[str, ...] = FAST


GROUPS: dict[str, Group] = {
    "validation": Group(
        ("mockserver/validation/*",),
        (
            "tests/test_validation*.py",
            "tests/test_profiles.py",
            "tests/test_vendors_lucidworks.py",
            "tests/test_vendors_neuralens.py",
            "tests/test_fixture_corpus.py",
            "tests/test_hostile_input.py",
        ),
    ),
    "vendors": Group(
        ("mockserver/vendors/*",),
        (
            "tests/test_vendors_*.py",
            "tests/test_hostile_input.py",
            "tests/test_app.py",
            "tests/test_events.py",
        ),
    ),
    "faults": Group(
        ("mockserver/faults/*",),
        ("tests/test_faults_*.py", "tests/test_vendors_faults.py", "tests/test_inspect_api.py"),
    ),
    "inspect": Group(
        ("mockserver/inspect/analytics.py", "mockserver/inspect/waiting.py"),
        (
            "tests/test_inspect_analytics.py",
            "tests/test_inspect_waiting.py",
            "tests/test_inspect_api.py",
        ),
    ),
    "storage": Group(
        (
            "mockserver/storage/totals.py",
            "mockserver/storage/totals_sql.py",
            "mockserver/storage/from_events.py",
            "mockserver/storage/semantics.py",
            "mockserver/storage/signal_quality.py",
        ),
        (
            "tests/test_storage_totals.py",
            "tests/test_storage_semantics.py",
            "tests/test_storage_signal_quality*.py",
            "tests/test_inspect_analytics.py",
        ),
    ),
    # The SQL both stores share, as PostgreSQL's dialect spells it, and the store's own
    # folding: its tests start a PostgreSQL server (slow).
    "postgres": Group(
        ("mockserver/storage/dialect.py", "mockserver/storage/postgres.py"),
        ("tests/test_storage_postgres*.py", "tests/test_inspect_analytics.py"),
        pytest_args=("-k", "postgres"),
    ),
    "simulate": Group(("mockserver/simulate/*",), ("tests/test_simulate*.py",)),
}


def settings(group: Group) -> str:
    """The project's pyproject.toml with a [tool.mutmut] table for this run."""

    def toml_list(items: tuple[str, ...]) -> str:
        return "[" + ", ".join(json.dumps(item) for item in items) + "]"

    return (ROOT / "pyproject.toml").read_text(encoding="utf-8") + (
        "\n[tool.mutmut]\n"
        'source_paths = ["mockserver"]\n'
        'also_copy = ["fixtures", "schemas", "docs"]\n'
        f"only_mutate = {toml_list(group.modules)}\n"
        f"pytest_add_cli_args_test_selection = {toml_list(test_files(group))}\n"
        f"pytest_add_cli_args = {toml_list(('-p', 'no:cacheprovider', *group.pytest_args))}\n"
    )


def test_files(group: Group) -> tuple[str, ...]:
    found = {path.relative_to(ROOT).as_posix() for glob in group.tests for path in ROOT.glob(glob)}
    return tuple(sorted(found))


def copy_tree(work: Path, names: tuple[str, ...]) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in names:
        shutil.rmtree(work / name, ignore_errors=True)
        shutil.copytree(ROOT / name, work / name, ignore=ignore)


def refresh_package(work: Path, group: Group) -> list[str]:
    """Bring the package's modules that are not mutated up to date in the scratch copy (the
    tests of today import what they define), and name the mutated ones that changed."""
    mutated = {path for glob in group.modules for path in ROOT.glob(glob)}
    changed = []
    for source in sorted((ROOT / "mockserver").rglob("*")):
        if not source.is_file() or "__pycache__" in source.parts:
            continue
        relative = source.relative_to(ROOT)
        if source in mutated:
            if (
                not (work / relative).exists()
                or (work / relative).read_bytes() != source.read_bytes()
            ):
                changed.append(relative.as_posix())
            continue
        for copy in (work / relative, work / "mutants" / relative):
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy)
    return changed


def mutmut(work: Path, *args: str, quiet: bool = False) -> str:
    output = subprocess.DEVNULL if quiet else subprocess.PIPE
    done = subprocess.run([*MUTMUT, *args], cwd=work, check=True, stdout=output, text=True)
    return done.stdout or ""


def survivors(work: Path) -> list[str]:
    listed = mutmut(work, "results")  # survived and "no tests": both left alive
    return [line.split(":")[0].strip() for line in listed.splitlines() if line.strip()]


def run(name: str, group: Group, again: bool) -> None:
    work = BUILD / name
    children = str(os.cpu_count() or 1)  # the fast tests run in-process: one child a core
    started = time.monotonic()
    if again and (work / "mutants").is_dir():
        if settings(group) != (work / "pyproject.toml").read_text(encoding="utf-8"):
            print(f"{name}: test files or settings changed since its fresh run; they are not seen"
                  f" until the next fresh run (python tests/mutate.py {name})")  # fmt: skip
        copy_tree(work, ("tests", "fixtures"))
        copy_tree(work / "mutants", ("tests", "fixtures"))  # mutmut runs the tests from here
        for module in refresh_package(work, group):
            print(f"{name}: {module} changed since its fresh run; its mutants are of the old"
                  f" code until the next fresh run (python tests/mutate.py {name})")  # fmt: skip
        left = survivors(work)
        if left:
            mutmut(work, "run", "--max-children", children, *left, quiet=True)
    else:
        shutil.rmtree(work, ignore_errors=True)  # a fresh run: mutmut would reuse old results
        work.mkdir(parents=True)
        copy_tree(work, COPIED)
        (work / "pyproject.toml").write_text(settings(group), encoding="utf-8")
        mutmut(work, "run", "--max-children", children, quiet=True)
    (work / "took").write_text(f"{time.monotonic() - started:.0f}", encoding="utf-8")
    print(report(name))


def report(name: str) -> str:
    """The group's score and its survivors, written to survivors.txt; the score line first."""
    work = BUILD / name
    mutmut(work, "export-cicd-stats", quiet=True)
    stats = json.loads((work / "mutants" / "mutmut-cicd-stats.json").read_text())
    texts = [path.read_text("utf-8") for path in (ROOT / "tests").glob(LISTED)]
    listed = set(re.findall(r"mockserver\.[\w.]+__mutmut_\d+", "\n".join(texts)))
    left = survivors(work)
    todo = [mutant for mutant in left if mutant not in listed]
    total = stats["total"]
    took = (work / "took").read_text(encoding="utf-8")
    score = (
        f"{name}: {total} mutants, {len(left)} survived ({len(left) / max(total, 1):.1%}), "
        f"{len(left) - len(todo)} of them listed as equivalent, {len(todo)} not; in {took} s"
    )
    diffs = [mutmut(work, "show", mutant) for mutant in todo]
    text = "\n".join([score, "", *diffs])
    (work / "survivors.txt").write_text(text + "\n", encoding="utf-8")
    (work / "score.json").write_text(json.dumps({"total": total, "survived": len(left),
                                                 "todo": len(todo)}))  # fmt: skip
    return text + f"\n{score}\nwritten to {(work / 'survivors.txt').relative_to(ROOT)}\n"


def total() -> str:
    lines, mutants, left, todo = [], 0, 0, 0
    for name in GROUPS:
        scored = BUILD / name / "score.json"
        if not scored.exists():
            lines.append(f"{name}: not run")
            continue
        score = json.loads(scored.read_text())
        mutants, left, todo = (
            mutants + score["total"],
            left + score["survived"],
            todo + score["todo"],
        )
        lines.append(f"{name}: {score['survived']} of {score['total']} survived")
    lines.append(
        f"all groups: {mutants} mutants, {left} survived ({left / max(mutants, 1):.1%}), "
        f"{todo} not listed as equivalent"
    )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    again = "--again" in argv
    args = [arg for arg in argv if arg != "--again"]
    if args == ["--score"]:
        print(total())
        return 0
    if args and args[0].endswith(".py"):  # one module against the tests named
        run(Path(args[0]).stem, Group((args[0],), tuple(args[1:])), again)
        return 0
    unknown = [arg for arg in args if arg not in GROUPS]
    if unknown:
        print(f"unknown group {unknown[0]!r}: choose from {', '.join(GROUPS)}\n", file=sys.stderr)
        print(__doc__, file=sys.stderr)
        return 2
    for name in args or list(GROUPS):
        run(name, GROUPS[name], again)
    print(total())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
