"""``python -m cairn.models build-docker``: a container recipe for a model (docs/deployment.md).

Writes a build context to ``DIR``::

    DIR/
      Dockerfile        python:<model's major.minor>-slim, pinned requirements, non-root user,
                        HEALTHCHECK on /ping, ENTRYPOINT entrypoint.sh
      entrypoint.sh     runs the scoring server on the model below (PORT, HOST, WORKERS,
                        TIMEOUT from the environment; extra arguments passed through)
      requirements.txt  the model's pinned requirements (its requirements.txt), the serving
                        stack's (numpy, pandas, requests) pinned to the versions installed here
      model/            the model directory, downloaded and checksum-verified
      python/cairn/     this SDK (pure Python), put on PYTHONPATH

``--build`` then runs ``docker build`` when a ``docker`` binary is on PATH. The image serves a
fixed version (the one the URI resolved to when the context was written); it does not follow
the alias: to move, build again (or run ``serve -m models:/name@alias`` instead).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tempfile
from typing import Any, Dict, List, Optional

from ..exceptions import error_for
from .model import REQUIREMENTS_FILE, Model, installed_version

CONTAINER_PORT = 8080
CONTAINER_ROOT = "/opt/cairn"
#: what the scoring server itself imports, pinned to this environment's versions
SERVING_DISTRIBUTIONS = ("numpy", "pandas", "requests")
#: the HEALTHCHECK: GET /ping on the container's port (non-2xx or no answer → exit 1)
HEALTHCHECK_PY = (
    "import os, urllib.request; urllib.request.urlopen("
    "'http://127.0.0.1:%s/ping' % os.environ.get('PORT', '8080'), timeout=2)"
)


def _requirement_name(line: str) -> str:
    return re.split(r"[<>=!~;\[ @]", line.strip(), maxsplit=1)[0].lower().replace("_", "-")


def requirements_for(model_dir: str) -> List[str]:
    """The model's requirement lines (without ``cairn-ml``: the SDK is copied in), plus the
    serving stack's, pinned to the installed versions when the model does not name them."""
    lines: List[str] = []
    path = os.path.join(model_dir, REQUIREMENTS_FILE)
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            for raw in f:
                line = raw.strip()
                if not line or line.startswith("#"):
                    continue
                if line.startswith("-"):
                    raise error_for(
                        f"The model's requirements.txt has a pip option line {line!r}; only "
                        "requirement specifiers are copied into a container recipe",
                        "FAILED_PRECONDITION",
                        {"line": line},
                    )
                if _requirement_name(line) == "cairn-ml":
                    continue
                lines.append(line)
    named = {_requirement_name(line) for line in lines}
    for dist in SERVING_DISTRIBUTIONS:
        if dist not in named:
            version = installed_version(dist)
            lines.append(f"{dist}=={version}" if version else dist)
    return lines


def _python_tag(model: Model) -> str:
    match = re.match(r"^(\d+)\.(\d+)", model.python_version or "")
    return f"{match.group(1)}.{match.group(2)}" if match else "3.11"


def dockerfile(python_tag: str, labels: Dict[str, str]) -> str:
    label_lines = "".join(
        f"LABEL {key}={_docker_quote(value)}\n" for key, value in labels.items() if value
    )
    return f"""# Written by `python -m cairn.models build-docker` (docs/deployment.md).
FROM python:{python_tag}-slim
{label_lines}ENV PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    PIP_NO_CACHE_DIR=1 \\
    PIP_DISABLE_PIP_VERSION_CHECK=1 \\
    PYTHONPATH={CONTAINER_ROOT}/python \\
    HOST=0.0.0.0 \\
    PORT={CONTAINER_PORT}
WORKDIR {CONTAINER_ROOT}
COPY requirements.txt {CONTAINER_ROOT}/requirements.txt
RUN pip install --no-cache-dir -r {CONTAINER_ROOT}/requirements.txt
COPY python/ {CONTAINER_ROOT}/python/
COPY model/ {CONTAINER_ROOT}/model/
COPY entrypoint.sh {CONTAINER_ROOT}/entrypoint.sh
RUN chmod 0555 {CONTAINER_ROOT}/entrypoint.sh \\
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin cairn
USER 10001
EXPOSE {CONTAINER_PORT}
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \\
    CMD ["python", "-c", "{HEALTHCHECK_PY}"]
ENTRYPOINT ["{CONTAINER_ROOT}/entrypoint.sh"]
"""


def _docker_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def entrypoint(served_uri: str, name: Optional[str], version: Optional[int]) -> str:
    extra = ""
    if name:
        extra += f" --served-name {shlex.quote(name)}"
    if version is not None:
        extra += f" --served-version {int(version)}"
    return f"""#!/bin/sh
# The container's entry point: the Cairn scoring server on the model next to this file.
# Run directly (outside a container) it works the same: python must have the requirements.
set -eu
HERE="$(cd "$(dirname "$0")" && pwd)"
export PYTHONPATH="$HERE/python${{PYTHONPATH:+:$PYTHONPATH}}"
exec "${{PYTHON:-python}}" -m cairn.models serve -m "$HERE/model" \\
  --host "${{HOST:-0.0.0.0}}" --port "${{PORT:-{CONTAINER_PORT}}}" \\
  --workers "${{WORKERS:-1}}" --timeout "${{TIMEOUT:-60}}" \\
  --served-uri {shlex.quote(served_uri)}{extra} "$@"
"""


def build_docker(
    model_uri: str,
    directory: str,
    *,
    build: bool = False,
    image: Optional[str] = None,
    client: Any = None,
) -> str:
    """Writes the build context for ``model_uri`` into ``directory`` (new or empty); with
    ``build``, runs ``docker build -t <image> <directory>``. Returns the directory."""
    from .serve import resolve_and_download

    if build and shutil.which("docker") is None:
        raise error_for(
            "--build needs a docker binary on PATH and none was found; the context can be "
            f"written without --build and built elsewhere with `docker build {directory}`",
            "FAILED_PRECONDITION",
            {"directory": directory},
        )
    if os.path.exists(directory) and (not os.path.isdir(directory) or os.listdir(directory)):
        raise error_for(
            f"{directory} already exists and is not an empty directory",
            "ALREADY_EXISTS",
            {"path": directory},
        )
    os.makedirs(directory, exist_ok=True)
    model_dst = os.path.join(directory, "model")
    with tempfile.TemporaryDirectory(prefix="cairn-build-docker-") as tmp:
        local, meta = resolve_and_download(model_uri, tmp, client)
        shutil.copytree(local, model_dst, symlinks=False)
    descriptor = Model.load(model_dst)
    with open(os.path.join(directory, "requirements.txt"), "w", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in requirements_for(model_dst)))
    sdk_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    shutil.copytree(
        sdk_root,
        os.path.join(directory, "python", "cairn"),
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    labels = {
        "org.cairn.model-uri": model_uri,
        "org.cairn.model-name": str(meta.get("name") or ""),
        "org.cairn.model-version": str(meta.get("version") or ""),
        "org.cairn.model-uuid": descriptor.model_uuid,
    }
    with open(os.path.join(directory, "Dockerfile"), "w", encoding="utf-8") as f:
        f.write(dockerfile(_python_tag(descriptor), labels))
    script = os.path.join(directory, "entrypoint.sh")
    with open(script, "w", encoding="utf-8") as f:
        f.write(entrypoint(model_uri, meta.get("name"), meta.get("version")))
    os.chmod(script, 0o755)
    with open(os.path.join(directory, ".dockerignore"), "w", encoding="utf-8") as f:
        f.write("**/__pycache__\n**/*.pyc\n")
    if build:
        tag = image or _default_tag(meta.get("name"), meta.get("version"))
        result = subprocess.run(["docker", "build", "-t", tag, directory], check=False)
        if result.returncode != 0:
            raise error_for(
                f"docker build exited with {result.returncode}",
                "FAILED_PRECONDITION",
                {"directory": directory, "image": tag},
            )
    return directory


def _default_tag(name: Optional[str], version: Optional[int]) -> str:
    base = re.sub(r"[^a-z0-9._-]+", "-", (name or "cairn-model").lower()).strip("-._")
    return f"{base or 'cairn-model'}:{version if version is not None else 'latest'}"
