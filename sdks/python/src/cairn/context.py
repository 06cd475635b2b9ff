"""Run context captured automatically: code version, entry point, Python, user, host.

Tag names follow MLflow where MLflow has one (``mlflow.source.git.commit``, ``mlflow.user``,
...) so tools written for MLflow read them; Cairn's additions use the ``cairn.`` prefix.
"""

from __future__ import annotations

import getpass
import os
import platform
import socket
import subprocess
import sys
from typing import Dict, List, Optional

from ._version import __version__

_cached: Optional[Dict[str, str]] = None

TAG_USER = "mlflow.user"
TAG_SOURCE_NAME = "mlflow.source.name"
TAG_SOURCE_TYPE = "mlflow.source.type"
TAG_GIT_COMMIT = "mlflow.source.git.commit"
TAG_GIT_REPO_URL = "mlflow.source.git.repoURL"
TAG_GIT_BRANCH = "mlflow.source.git.branch"
TAG_PARENT_RUN_ID = "mlflow.parentRunId"
TAG_GIT_DIRTY = "cairn.source.git.dirty"
TAG_HOST = "cairn.host"
TAG_PYTHON_VERSION = "cairn.python.version"
TAG_SDK_VERSION = "cairn.sdk.version"


def _git(args: List[str], cwd: str) -> Optional[str]:
    try:
        out = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip()


def entry_point() -> Optional[str]:
    """The script being run (absolute path), or None in an interactive session."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if isinstance(path, str) and path:
        return os.path.abspath(path)
    if sys.argv and sys.argv[0] and os.path.isfile(sys.argv[0]):
        return os.path.abspath(sys.argv[0])
    return None


def _source_type(entry: Optional[str]) -> str:
    if "ipykernel" in sys.modules or ("IPython" in sys.modules and entry is None):
        return "NOTEBOOK"
    return "LOCAL"


def git_info(directory: str) -> Dict[str, str]:
    commit = _git(["rev-parse", "HEAD"], directory)
    if not commit:
        return {}
    info = {TAG_GIT_COMMIT: commit}
    url = _git(["config", "--get", "remote.origin.url"], directory)
    if url:
        info[TAG_GIT_REPO_URL] = _strip_credentials(url)
    branch = _git(["rev-parse", "--abbrev-ref", "HEAD"], directory)
    if branch and branch != "HEAD":
        info[TAG_GIT_BRANCH] = branch
    status = _git(["status", "--porcelain", "--untracked-files=no"], directory)
    if status is not None:
        info[TAG_GIT_DIRTY] = "true" if status else "false"
    return info


def _strip_credentials(url: str) -> str:
    # https://user:token@host/repo -> https://host/repo (never send a token as a tag)
    if "://" in url and "@" in url.split("://", 1)[1].split("/", 1)[0]:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://{rest.split('@', 1)[1]}"
    return url


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"


def capture(refresh: bool = False) -> Dict[str, str]:
    """Context tags of this process (computed once; git is asked with a 5 s timeout)."""
    global _cached
    if _cached is not None and not refresh:
        return dict(_cached)
    entry = entry_point()
    tags: Dict[str, str] = {
        TAG_USER: _user(),
        TAG_SOURCE_TYPE: _source_type(entry),
        TAG_HOST: socket.gethostname(),
        TAG_PYTHON_VERSION: platform.python_version(),
        TAG_SDK_VERSION: __version__,
    }
    if entry:
        tags[TAG_SOURCE_NAME] = entry
    if os.environ.get("CAIRN_DISABLE_GIT_CAPTURE", "").lower() not in ("1", "true", "yes"):
        tags.update(git_info(os.path.dirname(entry) if entry else os.getcwd()))
    _cached = tags
    return dict(tags)


def run_source(tags: Dict[str, str]) -> Dict[str, Optional[str]]:
    """The ``RunSourceInput`` of ``createRun`` from the captured tags."""
    return {
        "gitCommit": tags.get(TAG_GIT_COMMIT),
        "entryPoint": tags.get(TAG_SOURCE_NAME),
        "sourceType": tags.get(TAG_SOURCE_TYPE),
    }
