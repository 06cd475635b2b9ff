"""``python -m cairn.models`` (also the ``cairn-models`` console script): serve a model over
MLflow's scoring protocol, score a file in batch, or write a container recipe.

    python -m cairn.models serve -m models:/churn@champion --port 5001 [--workers 2]
    python -m cairn.models serve --deployment churn-api --port 5001 [--log-traces]
    python -m cairn.models predict -m models:/churn/3 -i in.csv -o out.json
    python -m cairn.models build-docker -m models:/churn@champion -d ./image [--build]

The tracking server comes from ``CAIRN_TRACKING_URI`` (and ``CAIRN_API_KEY``,
``CAIRN_WORKSPACE``) as everywhere in the SDK. See docs/deployment.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import List, Optional

from ..exceptions import CairnError
from .scoring import ScoringError


def _positive_float(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def _workers(text: str) -> int:
    value = int(text)
    if value < 1 or value > 256:
        raise argparse.ArgumentTypeError("must be between 1 and 256")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="cairn-models", description="Serve, batch-score and package Cairn models."
    )
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="serve a model over MLflow's scoring protocol")
    what = s.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "-m",
        "--model-uri",
        help="models:/name@alias, models:/name/<version|stage|latest>, runs:/… or a path",
    )
    what.add_argument(
        "--deployment",
        help="serve this deployment: every variant, routed by weight, following "
        "deploymentChanged, reporting per-variant metrics",
    )
    s.add_argument("-p", "--port", type=int, default=int(os.environ.get("PORT", "5000")))
    s.add_argument(
        "-H",
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1; 0.0.0.0 for every interface)",
    )
    s.add_argument(
        "-w",
        "--workers",
        type=_workers,
        default=int(os.environ.get("CAIRN_MODELS_WORKERS", "1")),
        help="worker processes (default 1, env CAIRN_MODELS_WORKERS)",
    )
    s.add_argument(
        "-t",
        "--timeout",
        type=_positive_float,
        default=60.0,
        help="seconds a request may take before a 504 (default 60; 0 = none)",
    )
    s.add_argument(
        "--max-body-mb",
        type=_positive_float,
        default=64.0,
        help="largest request body in MiB (default 64; larger gets a 413)",
    )
    s.add_argument(
        "--grace",
        type=_positive_float,
        default=30.0,
        help="seconds SIGTERM waits for requests in flight (default 30)",
    )
    s.add_argument(
        "--poll-interval",
        type=_positive_float,
        default=30.0,
        help="seconds between re-resolutions of an alias besides the registry "
        "subscription's pushes (default 30)",
    )
    s.add_argument(
        "--no-follow",
        action="store_true",
        help="serve the version the URI names at start and never switch",
    )
    s.add_argument(
        "--no-subscribe",
        action="store_true",
        help="follow the alias by polling only (no graphql-ws subscription)",
    )
    s.add_argument(
        "--report-interval",
        type=_positive_float,
        default=2.0,
        help="seconds between two metrics reports of a deployment (default 2)",
    )
    s.add_argument(
        "--log-traces",
        action="store_true",
        help="log every request as a trace (inputs/outputs cut to 2 KiB, variant, model "
        "version, latency), exported in the background",
    )
    s.add_argument("--served-uri", help=argparse.SUPPRESS)
    s.add_argument("--served-name", help=argparse.SUPPRESS)
    s.add_argument("--served-version", type=int, help=argparse.SUPPRESS)

    r = sub.add_parser("predict", help="score a JSON or CSV file")
    r.add_argument("-m", "--model-uri", required=True)
    r.add_argument("-i", "--input-path", help="input file (default stdin)")
    r.add_argument("-o", "--output-path", help="output file (default stdout)")
    r.add_argument(
        "-t",
        "--content-type",
        choices=["json", "csv"],
        help="input format (default: from the file extension; json for stdin)",
    )

    d = sub.add_parser("build-docker", help="write a Dockerfile and build context")
    d.add_argument("-m", "--model-uri", required=True)
    d.add_argument("-d", "--directory", required=True, help="new or empty directory")
    d.add_argument("-n", "--name", help="image tag for --build (default <model>:<version>)")
    d.add_argument(
        "--build", action="store_true", help="also run docker build (needs a docker binary on PATH)"
    )
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "serve":
            from .serve import ServeOptions, serve

            if args.deployment and args.no_follow:
                print(
                    "cairn-models: --no-follow does not apply to --deployment (a deployment "
                    "follows its variants' URIs)",
                    file=sys.stderr,
                )
                return 2

            return serve(
                ServeOptions(
                    model_uri=args.model_uri,
                    host=args.host,
                    port=args.port,
                    workers=args.workers,
                    timeout=args.timeout,
                    max_body=int(args.max_body_mb * 1024 * 1024),
                    grace=args.grace,
                    follow=not args.no_follow,
                    poll_interval=args.poll_interval,
                    subscribe=not args.no_subscribe,
                    served_uri=args.served_uri,
                    name=args.served_name,
                    version=args.served_version,
                    deployment=args.deployment,
                    report_interval=max(0.1, args.report_interval),
                    log_traces=args.log_traces,
                )
            )
        if args.command == "predict":
            from .predict import predict

            predict(args.model_uri, args.input_path, args.output_path, args.content_type)
            return 0
        if args.command == "build-docker":
            from .docker import build_docker

            out = build_docker(args.model_uri, args.directory, build=args.build, image=args.name)
            print(f"wrote the build context to {out}", file=sys.stderr)
            return 0
    except ScoringError as err:
        print(json.dumps(err.to_dict()), file=sys.stderr)
        return 2
    except CairnError as err:
        print(f"cairn-models: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"cairn-models: {err}", file=sys.stderr)
        return 2
    return 2  # pragma: no cover - argparse requires a command


if __name__ == "__main__":
    sys.exit(main())
