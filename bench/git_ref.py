"""Another commit's code beside the working tree's: a temporary git worktree, removed on exit.

``bench/operations.py --compare REF`` runs a server from it (``PYTHONPATH=<worktree>/src`` with this
virtualenv's Python), to measure the code of REF and the current code in one run.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

REPOSITORY = Path(__file__).resolve().parents[1]


class GitError(RuntimeError):
    pass


def git(*arguments: str, check: bool = True) -> str:
    completed = subprocess.run(
        ["git", "-C", str(REPOSITORY), *arguments], capture_output=True, text=True, timeout=120
    )
    if check and completed.returncode != 0:
        raise GitError(f"git {' '.join(arguments)}: {completed.stderr.strip() or completed.stdout.strip()}")
    return completed.stdout.strip()


class RefWorktree:
    """``git worktree add --detach`` of ``ref`` into a temporary directory, as a context manager.

    The worktree is removed on leaving the block, whatever ends it (an error, Ctrl-C, SIGTERM
    turned into KeyboardInterrupt by the caller); a second Ctrl-C during the removal is ignored.
    """

    def __init__(self, ref: str) -> None:
        self.ref = ref
        self.commit = git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        if not self.commit:
            raise GitError(f"{ref!r} is not a commit of {REPOSITORY}")
        self.description = git("log", "-1", "--format=%h %cs %<(60,trunc)%s", self.commit).strip()
        self.path = Path(tempfile.mkdtemp(prefix="smsdesk-bench-ref-"))

    @property
    def source(self) -> Path:
        return self.path / "src"

    def dependencies_differ(self) -> bool:
        """Whether pyproject.toml differs between ``ref`` and the working tree (the old code then may
        need other packages than this virtualenv has)."""
        return bool(git("diff", "--name-only", self.commit, "--", "pyproject.toml"))

    def __enter__(self) -> RefWorktree:
        try:
            git("worktree", "add", "--detach", str(self.path), self.commit)
        except BaseException:
            shutil.rmtree(self.path, ignore_errors=True)
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            git("worktree", "remove", "--force", str(self.path))
        except GitError as failure:
            print(f"warning: the temporary worktree was not removed ({failure}); `git worktree prune` will")
        finally:
            shutil.rmtree(self.path, ignore_errors=True)
            signal.signal(signal.SIGINT, previous)
