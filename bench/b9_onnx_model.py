"""B9-ONNX's model: B9's fitted estimator (bench/b9_model.py) converted to ONNX.

    <sdk venv python> bench/b9_model.py cairn DIR        # fits, writes DIR/estimator.pkl
    <sdk venv python> bench/b9_onnx_model.py DIR         # writes DIR/cairn-onnx-model

skl2onnx with ``zipmap=False`` (tensor outputs ``label`` and ``probabilities``), saved with
``cairn.onnx.save_model`` and the same five rows as input example (so the same column
signature as B9's model).
"""

from __future__ import annotations

import os
import pickle
import sys


def main() -> None:
    import numpy as np
    from skl2onnx import to_onnx

    import cairn.onnx

    out = sys.argv[1]
    with open(os.path.join(out, "estimator.pkl"), "rb") as f:
        model, example = pickle.load(f)
    proto = to_onnx(
        model,
        example.values[:1].astype(np.float32),
        options={"zipmap": False},
        target_opset=17,
    )
    cairn.onnx.save_model(
        proto, os.path.join(out, "cairn-onnx-model"), input_example=example
    )


if __name__ == "__main__":
    main()
