"""B10 (../shared/BENCHMARKS.md): typical `mlflow` client code, timed end to end.

Run by bench/lib/b10.ts with the bench venv's python and MLFLOW_TRACKING_URI pointing at one
system (MLflow's `mlflow server` or Cairn's MLflow-compatible REST); the script is the same for
both. N worker processes (forked after `import mlflow`, released together by a barrier) each:

    mlflow.set_experiment(name)
    R times: mlflow.start_run(); mlflow.log_params(10 params);
             S steps of MlflowClient().log_batch(run_id, metrics=[5 metrics at that step]);
             mlflow.set_tags(5 tags); mlflow.end_run()
    mlflow.search_runs(experiment filter + order_by)

Prints one JSON object on stdout: wall time from the barrier to the last worker's end, the
workers' own CPU time (the client's share of the 2 cores), the latencies of every call by kind
(milliseconds), and (untimed, after the workers) what the server holds for the experiment,
counted through search_runs and get_metric_history. MLFLOW_DISABLE_TELEMETRY is set by the
harness.

    python bench/b10_client.py --experiment NAME --procs 4 --runs 5 --steps 20
"""

import argparse
import json
import multiprocessing as mp
import sys
import time

import mlflow
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

SEARCH_FILTER = "params.optimizer = 'adam' and metrics.loss < 0.5"
SEARCH_ORDER = ["metrics.accuracy DESC"]


def params_of(worker, run):
    return {
        "optimizer": "adam" if run % 2 == 0 else "sgd",
        "lr": str(0.001 * (1 + run % 5)),
        "batch_size": str(32 * (1 + run % 4)),
        "epochs": "10",
        "model": "resnet50",
        "dropout": "0.1",
        "weight_decay": "0.0001",
        "seed": str(worker * 1000 + run),
        "worker": str(worker),
        "run_index": str(run),
    }


def metrics_at(worker, run, step, steps, ts):
    # Deterministic values: both systems get identical data.
    frac = (step + 1) / steps
    base = 0.2 + 0.6 * ((worker * 7 + run * 3) % 10) / 10
    values = {
        "loss": base * (1.2 - frac),
        "accuracy": 1 - base * (1.2 - frac) / 1.2,
        "lr": 0.001 * (1 - frac / 2),
        "grad_norm": 1 + ((step * 13 + run) % 17) / 17,
        "throughput": 1000 + (step * 31 + worker) % 97,
    }
    return [Metric(k, v, ts, step) for k, v in values.items()]


def timed(lat, kind, fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    lat.setdefault(kind, []).append((time.perf_counter() - t0) * 1000)
    return out


def worker(index, args, barrier, queue):
    try:
        client = MlflowClient()
        lat = {}
        barrier.wait()
        started = time.monotonic()
        cpu = time.process_time()
        timed(lat, "set_experiment", mlflow.set_experiment, args.experiment)
        for r in range(args.runs):
            run = timed(lat, "start_run", mlflow.start_run, run_name=f"w{index}-r{r}")
            run_id = run.info.run_id
            timed(lat, "log_params", mlflow.log_params, params_of(index, r))
            ts = int(time.time() * 1000)
            for s in range(args.steps):
                timed(
                    lat,
                    "log_batch",
                    client.log_batch,
                    run_id,
                    metrics=metrics_at(index, r, s, args.steps, ts + s),
                )
            timed(
                lat,
                "set_tags",
                mlflow.set_tags,
                {
                    "team": "vision" if r % 3 == 0 else "nlp",
                    "stage": "bench",
                    "worker": str(index),
                    "dataset": "imagenet-subset",
                    "git_commit": f"{index:04x}{r:04x}",
                },
            )
            timed(lat, "end_run", mlflow.end_run)
        found = timed(
            lat,
            "search_runs",
            mlflow.search_runs,
            experiment_names=[args.experiment],
            filter_string=SEARCH_FILTER,
            order_by=SEARCH_ORDER,
            max_results=100,
        )
        queue.put(
            {
                "worker": index,
                "started": started,
                "ended": time.monotonic(),
                "cpu": time.process_time() - cpu,
                "lat": lat,
                "found": len(found),
            }
        )
    except Exception as error:  # noqa: BLE001 (reported to the parent: the cell fails)
        queue.put({"worker": index, "error": f"{type(error).__name__}: {error}"})


def counts(experiment):
    """What the server holds for the experiment, through the client's own search and history."""
    client = MlflowClient()
    exp = client.get_experiment_by_name(experiment)
    runs = []
    token = None
    while True:
        page = client.search_runs([exp.experiment_id], max_results=1000, page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            break
    points = 0
    for run in runs:
        for key in run.data.metrics:
            points += len(client.get_metric_history(run.info.run_id, key))
    filtered = client.search_runs(
        [exp.experiment_id], filter_string=SEARCH_FILTER, order_by=SEARCH_ORDER, max_results=1000
    )
    return {
        "runs": len(runs),
        "params": sum(len(r.data.params) for r in runs),
        "metrics": sum(len(r.data.metrics) for r in runs),
        "points": points,
        "tags": sum(1 for r in runs for k in r.data.tags if not k.startswith("mlflow.")),
        "finished": sum(1 for r in runs if r.info.status == "FINISHED"),
        "filtered": len(filtered),
        "first": filtered[0].info.run_name if filtered else None,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--experiment", required=True)
    parser.add_argument("--procs", type=int, default=4)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    # Created before the workers start (set_experiment's get-or-create would race between them);
    # every worker then calls set_experiment, which finds it.
    mlflow.set_experiment(args.experiment)
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(args.procs)
    queue = ctx.Queue()
    procs = [ctx.Process(target=worker, args=(i, args, barrier, queue)) for i in range(args.procs)]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        print(json.dumps({"error": errors[0], "errors": len(errors)}))
        sys.exit(1)
    lat = {}
    for r in results:
        for kind, values in r["lat"].items():
            lat.setdefault(kind, []).extend(values)
    wall = max(r["ended"] for r in results) - min(r["started"] for r in results)
    print(
        json.dumps(
            {
                "wall_s": wall,
                "client_cpu_s": sum(r["cpu"] for r in results),
                "procs": args.procs,
                "runs": args.procs * args.runs,
                "calls": sum(len(v) for v in lat.values()),
                "lat": lat,
                "found": [r["found"] for r in results],
                "counts": counts(args.experiment),
                "mlflow": mlflow.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
