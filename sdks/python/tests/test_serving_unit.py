"""The scoring protocol's pure functions (``cairn.models.scoring``): no server, no process."""

from __future__ import annotations

import numpy as np
import pytest

from cairn.models.scoring import (
    ScoringError,
    parse_content_type,
    parse_request,
    predictions_json,
)
from cairn.models.signature import ColSpec, ModelSignature, Schema, TensorSpec

JSON = "application/json"


def _sig(*specs: object) -> ModelSignature:
    return ModelSignature(Schema(list(specs)))


def _error(body: bytes, sig: ModelSignature, mime: str = JSON) -> ScoringError:
    with pytest.raises(ScoringError) as info:
        parse_request(body, mime, sig)
    return info.value


def test_content_types() -> None:
    assert parse_content_type("application/json") == JSON
    assert parse_content_type("Application/JSON; charset=UTF-8") == JSON
    assert parse_content_type("text/csv;charset=utf-8") == "text/csv"
    for bad in (None, "", "text/plain", "application/json; foo=bar", "text/csv; charset=latin-1"):
        with pytest.raises(ScoringError) as info:
            parse_content_type(bad)
        assert info.value.status == 415 and info.value.error_code == "UNSUPPORTED_MEDIA_TYPE"


def test_column_types_are_enforced_not_converted() -> None:
    sig = _sig(
        ColSpec("long", "n"),
        ColSpec("boolean", "b"),
        ColSpec("string", "s"),
        ColSpec("double", "d"),
    )
    frame, params = parse_request(
        b'{"dataframe_records": [{"n": 1, "b": true, "s": "x", "d": 2}, '
        b'{"n": 2, "b": false, "s": null, "d": null}], "params": {"k": 1}}',
        JSON,
        sig,
    )
    assert params == {"k": 1}
    assert list(frame.columns) == ["n", "b", "s", "d"]
    assert str(frame["n"].dtype) == "int64" and str(frame["b"].dtype) == "bool"
    assert frame["d"].tolist()[0] == 2.0 and np.isnan(frame["d"].tolist()[1])
    cases = {
        b'{"inputs": {"n": [1.5], "b": [true], "s": ["x"], "d": [1]}}': ("n", "long"),
        b'{"inputs": {"n": [1], "b": [1], "s": ["x"], "d": [1]}}': ("b", "boolean"),
        b'{"inputs": {"n": [1], "b": [true], "s": [3], "d": [1]}}': ("s", "string"),
        b'{"inputs": {"n": [1], "b": [true], "s": ["x"], "d": ["1.5"]}}': ("d", "double"),
        b'{"inputs": {"n": [1], "b": [true], "s": ["x"], "d": [true]}}': ("d", "double"),
        b'{"inputs": {"n": [1], "b": [true], "s": ["x"]}}': ("d", "double"),
    }
    for body, (column, expected) in cases.items():
        err = _error(body, sig)
        assert err.status == 400 and err.error_code == "BAD_REQUEST"
        assert err.fields["column"] == column and err.fields["expected_type"] == expected, body
        assert f"'{column}'" in err.message and expected in err.message


def test_integer_out_of_range_and_rows_of_the_wrong_width() -> None:
    err = _error(b'{"inputs": {"i": [3000000000]}}', _sig(ColSpec("integer", "i")))
    assert err.status == 400 and err.fields["column"] == "i"
    sig = _sig(ColSpec("double", "a"), ColSpec("double", "b"))
    err = _error(b'{"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2], [3]]}}', sig)
    assert "Row 1 has 1 values" in err.message
    # rows without column names follow the signature's order
    frame, _ = parse_request(b'{"inputs": [[1, 2], [3, 4]]}', JSON, sig)
    assert frame.values.tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_tensor_signatures() -> None:
    sig = _sig(TensorSpec("float32", [-1, 2]))
    arr, _ = parse_request(b'{"inputs": [[1, 2], [3, 4.5]]}', JSON, sig)
    assert arr.dtype == np.float32 and arr.shape == (2, 2)
    assert _error(b'{"inputs": [[1, 2, 3]]}', sig).message.startswith("Incompatible shape")
    assert _error(b'{"inputs": [["a", "b"]]}', sig).status == 400
    named = _sig(TensorSpec("int64", [-1], "ids"), TensorSpec("float64", [-1, 2], "x"))
    out, _ = parse_request(b'{"inputs": {"ids": [1, 2], "x": [[1, 2], [3, 4]]}}', JSON, named)
    assert out["ids"].dtype == np.int64 and out["x"].shape == (2, 2)
    assert _error(b'{"inputs": {"ids": [1.5], "x": [[1, 2]]}}', named).fields["column"] == "ids"
    assert _error(b'{"inputs": {"x": [[1, 2]]}}', named).fields["column"] == "ids"


def test_csv_and_no_signature() -> None:
    sig = _sig(ColSpec("double", "a"), ColSpec("long", "b"))
    frame, _ = parse_request(b"b,a,extra\n1,2.5,x\n2,,y\n", "text/csv", sig)
    assert list(frame.columns) == ["a", "b"] and frame["b"].tolist() == [1, 2]
    assert np.isnan(frame["a"].tolist()[1])
    assert _error(b"a,b\n1,1.5\n", sig, "text/csv").fields["column"] == "b"
    assert _error(b"a\n1\n", sig, "text/csv").fields["column"] == "b"
    frame, _ = parse_request(b'{"dataframe_split": {"columns": ["x"], "data": [[1]]}}', JSON, None)
    assert frame.to_dict(orient="list") == {"x": [1]}
    raw, _ = parse_request(b'{"instances": [[1, 2]]}', JSON, None)
    assert raw == [[1, 2]]


def test_predictions_json() -> None:
    assert predictions_json(np.array([1, 2])) == b'{"predictions": [1,2]}'
    assert predictions_json(np.array([1.5, np.nan])) == b'{"predictions": [1.5,null]}'
    import pandas as pd

    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    assert predictions_json(frame) == b'{"predictions": [{"a":1,"b":"x"},{"a":2,"b":"y"}]}'
    assert predictions_json({"k": np.array([1.0])}) == b'{"predictions": {"k":[1.0]}}'
