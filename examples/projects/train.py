"""Entry point of the example project: fits y = w*x on data.csv by gradient
descent, logging a param, per-epoch metrics and an artifact to the run that
`mlgate run` / `mlflow run` created (MLFLOW_RUN_ID)."""

import argparse
import csv
import json
import os
import sys
import tempfile


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alpha", type=float, default=0.5)
    ap.add_argument("--l1-ratio", type=float, default=0.1)
    ap.add_argument("--label", default="")
    ap.add_argument("--data", default="data.csv")
    ap.add_argument("--epochs", type=float, default=3)
    ap.add_argument("--fail", type=float)
    # Parameters the MLproject does not declare arrive as --name value.
    args, extra = ap.parse_known_args()
    if args.fail is not None:
        print("failing on purpose", file=sys.stderr)
        sys.exit(int(args.fail))
    import mlflow  # after the failing path, which needs no client

    with open(args.data) as f:
        rows = [(float(r["x"]), float(r["y"])) for r in csv.DictReader(f)]
    # The runner created the run and passes it in MLFLOW_RUN_ID (which
    # start_run consumes).
    run_id = os.environ["MLFLOW_RUN_ID"]
    with mlflow.start_run() as run:
        assert run.info.run_id == run_id
        mlflow.log_param("rows", len(rows))
        w = 0.0
        for epoch in range(int(args.epochs)):
            grad = sum(2 * (w * x - y) * x for x, y in rows) / len(rows)
            w -= 0.01 * (1 + args.alpha) * grad
            loss = sum((w * x - y) ** 2 for x, y in rows) / len(rows)
            mlflow.log_metric("loss", round(loss, 6), step=epoch)
        mlflow.log_metric("w", round(w, 6))
        mlflow.set_tag("label", args.label)
        summary = {"w": round(w, 6), "label": args.label, "l1_ratio": args.l1_ratio, "extra": extra}
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "summary.json")
            with open(path, "w") as f:
                json.dump(summary, f, sort_keys=True)
            mlflow.log_artifact(path, artifact_path="outputs")
    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    main()
