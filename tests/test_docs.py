"""Documents: every reference to a `.md` file in the repository names a file that is in it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEXT = (".py", ".md", ".toml", ".txt", ".html", ".js", ".css", ".yaml", "Makefile", "run")
WRITTEN_BY_THE_CODE = {"report.md"}  # the pipeline's report, in its output directory
REFERENCE = re.compile(r"(?<![\w/.-])((?:\.\./|[\w-]+/)*[\w.-]*\w\.md)\b")


def tracked_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [ROOT / name for name in out.splitlines() if name.endswith(TEXT) and (ROOT / name).is_file()]


def dangling_references(files: list[Path], root: Path = ROOT) -> list[str]:
    """`file:line: name` for every `.md` reference that resolves neither from the file's folder nor the root."""
    missing = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            for name in REFERENCE.findall(line):
                if "://" in line and f"/{name}" in line.split("://", 1)[1] or Path(name).name in WRITTEN_BY_THE_CODE:
                    continue
                if not ((path.parent / name).is_file() or (root / name).is_file()):
                    missing.append(f"{path.relative_to(root)}:{number}: {name}")
    return missing


def test_every_document_a_file_refers_to_is_in_the_repository():
    files = [f for f in tracked_files() if f != Path(__file__).resolve()]  # this file's examples are made up
    assert len(files) > 50 and any(f.name == "README.md" for f in files)
    assert dangling_references(files) == []


def test_a_reference_to_a_missing_document_is_found(tmp_path):
    """The check itself: a reference outside the repository, or to a file that is not there, is reported."""
    (tmp_path / "x.py").write_text('"""See SPEC.md 5a and docs/missing.md."""\n# docs/design.md is fine\n')
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "design.md").write_text("")
    assert dangling_references([tmp_path / "x.py"], tmp_path) == ["x.py:1: SPEC.md", "x.py:1: docs/missing.md"]
