"""What a check found: problems collected as it goes, printed at the end, and the exit code."""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class Findings:
    def __init__(self, check: str):
        self.check = check
        self.problems: list[str] = []
        self.notes: list[str] = []

    def require(self, condition: bool, problem: str) -> bool:
        if not condition:
            self.problems.append(problem)
        return bool(condition)

    def fail(self, problem: str) -> None:
        self.problems.append(problem)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def finish(self) -> int:
        for n in self.notes:
            print(f"  note: {n}")
        for p in self.problems:
            print(f"  {self.check}: {p}", file=sys.stderr)
        return 1 if self.problems else 0


def config_variables() -> set[str]:
    """Every environment variable cvgate reads (the quoted names in app/config.cpp)."""
    text = (ROOT / "lib/src/cvgate/app/config.cpp").read_text()
    return {m for m in re.findall(r'"([A-Z][A-Z0-9_]{2,})"', text)}


def dockerfile_user() -> tuple[int, int] | None:
    """The uid:gid of the Dockerfile's last USER instruction, when numeric."""
    users = re.findall(r"^USER\s+(\d+)(?::(\d+))?\s*$", (ROOT / "deploy/docker/Dockerfile").read_text(), re.M)
    if not users:
        return None
    uid, gid = users[-1]
    return int(uid), int(gid or uid)
