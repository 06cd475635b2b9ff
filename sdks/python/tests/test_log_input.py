"""cairn.log_input against a real Cairn server: a DataFrame, a dict and a named digest become
the run's dataset inputs (Run.inputs), with context, schema and profile; the digest follows the
data; the same input twice is stored once."""

from __future__ import annotations

import json

import pandas as pd
import pytest

INPUTS = """
query($id: String!) {
  run(id: $id) { inputs { name digest context sourceType source schema profile tags { key value } } }
}"""


def test_log_input_dataframe_dict_and_named(cairn_env, server):
    cairn = cairn_env
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "label": ["a", "b", "a"]})
    with cairn.start_run() as run:
        d1 = cairn.log_input(df, context="training", name="train", source="s3://bucket/train.csv")
        again = cairn.log_input(
            df, context="training", name="train", source="s3://bucket/train.csv"
        )
        d2 = cairn.log_input({"q": "hello", "k": [1, 2]}, context="eval", name="probe")
        d3 = cairn.log_input(
            cairn.data.Dataset(name="catalogue/users", digest="v42"), tags={"owner": "ml"}
        )
    assert again == d1 and len(d1.digest) == 8
    # the digest follows the data
    assert cairn.data.from_pandas(df.assign(x=[1.0, 2.0, 4.0]), name="train").digest != d1.digest
    assert cairn.data.from_dict({"k": [1, 2], "q": "hello"}).digest == d2.digest
    got = server.graphql(INPUTS, {"id": run.run_id})["run"]["inputs"]
    assert [(i["name"], i["digest"], i["context"]) for i in got] == [
        ("train", d1.digest, "training"),
        ("probe", d2.digest, "eval"),
        ("catalogue/users", "v42", None),
    ]
    train = got[0]
    assert train["sourceType"] == "s3"
    assert json.loads(train["source"]) == {"uri": "s3://bucket/train.csv"}
    assert json.loads(train["profile"]) == {"num_rows": 3, "num_elements": 6}
    assert [c["name"] for c in json.loads(train["schema"])["columns"]] == ["x", "label"]
    assert got[2]["tags"] == [{"key": "owner", "value": "ml"}]
    assert d3.digest == "v42"


def test_log_input_refuses_what_it_cannot_digest(cairn_env):
    with cairn_env.start_run(), pytest.raises(TypeError):
        cairn_env.log_input(object())
