"""B9's model, written twice from one fitted estimator (bench/README.md, B9).

    <sdk venv python> bench/b9_model.py cairn DIR    # fits, saves DIR/cairn-model + DIR/estimator.pkl
    <mlflow venv python> bench/b9_model.py mlflow DIR  # saves DIR/mlflow-model from DIR/estimator.pkl

The estimator: scikit-learn LogisticRegression on a fixed synthetic data set of 8 float
columns (seeded), so both servers score the very same object.
"""

from __future__ import annotations

import os
import pickle
import sys

COLUMNS = [f"f{i}" for i in range(8)]


def fit() -> object:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(9)
    x = pd.DataFrame(rng.normal(size=(2000, len(COLUMNS))), columns=COLUMNS)
    y = (x["f0"] + 0.5 * x["f1"] - x["f2"] > 0).astype(int)
    return LogisticRegression(max_iter=500).fit(x, y), x


def main() -> None:
    kind, out = sys.argv[1], sys.argv[2]
    pkl = os.path.join(out, "estimator.pkl")
    if kind == "cairn":
        import cairn.sklearn

        model, x = fit()
        with open(pkl, "wb") as f:
            pickle.dump((model, x.iloc[:5]), f)
        cairn.sklearn.save_model(model, os.path.join(out, "cairn-model"), input_example=x.iloc[:5])
    elif kind == "mlflow":
        import mlflow.sklearn
        from mlflow.models import infer_signature

        with open(pkl, "rb") as f:
            model, example = pickle.load(f)
        mlflow.sklearn.save_model(
            model,
            os.path.join(out, "mlflow-model"),
            signature=infer_signature(example, model.predict(example)),
            input_example=example,
            serialization_format="cloudpickle",
        )
    else:
        raise SystemExit(f"unknown kind {kind!r}")


if __name__ == "__main__":
    main()
