"""The model registry through the SDK against the real server: versions from runs, stages,
aliases and rollback, URIs, search, errors."""

from __future__ import annotations

import uuid

import numpy as np
import pytest


def _name(prefix: str = "reg") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _log_versions(cairn, name, n):
    """n versions of ``name``: DummyRegressors predicting 1.0, 2.0, ... n."""
    from sklearn.dummy import DummyRegressor

    infos = []
    for i in range(1, n + 1):
        model = DummyRegressor(strategy="constant", constant=float(i)).fit([[0]], [0])
        with cairn.start_run():
            infos.append(cairn.sklearn.log_model(model, "model", registered_model_name=name))
    return infos


def test_versions_stages_aliases_rollback_and_uris(cairn_env, client):
    cairn = cairn_env
    name = _name()
    infos = _log_versions(cairn, name, 3)
    assert [i.registered_model_version for i in infos] == [1, 2, 3]
    v2 = client.get_model_version(name, 2)
    assert v2.source == infos[1].model_uri and v2.run_id == infos[1].run_id
    assert v2.current_stage == "None"

    def predicts(uri):
        return float(cairn.pyfunc.load_model(uri).predict(np.array([[0]]))[0])

    assert predicts(f"models:/{name}/3") == 3.0
    assert predicts(f"models:/{name}/latest") == 3.0
    assert predicts(infos[0].model_uri) == 1.0

    # stages
    moved = client.transition_model_version_stage(name, 2, "Production")
    assert moved.current_stage == "Production"
    assert predicts(f"models:/{name}/Production") == 2.0
    client.transition_model_version_stage(name, 3, "production", archive_existing_versions=True)
    assert client.get_model_version(name, 2).current_stage == "Archived"
    assert predicts(f"models:/{name}/Production") == 3.0
    latest = {v.current_stage: v.version for v in client.get_latest_versions(name)}
    assert latest["Production"] == 3 and latest["Archived"] == 2
    assert [v.version for v in client.get_latest_versions(name, ["Archived"])] == [2]

    # aliases and a one-call rollback
    client.set_registered_model_alias(name, "champion", 2)
    client.set_registered_model_alias(name, "champion", 3)
    assert predicts(f"models:/{name}@champion") == 3.0
    assert client.get_registered_model(name).aliases == {"champion": 3}
    back = client.set_registered_model_alias(name, "champion", 2)  # rollback
    assert back.version == 2 and "champion" in back.aliases
    assert predicts(f"models:/{name}@champion") == 2.0
    history = client.get_registered_model_history(name)
    alias_moves = [(h.version, h.previous_version) for h in history if h.kind == "ALIAS_SET"]
    assert alias_moves[0] == (2, 3)  # newest first: the rollback
    assert (3, 2) in alias_moves
    stage_moves = [(h.version, h.to_stage) for h in history if h.kind == "STAGE_TRANSITIONED"]
    assert stage_moves[:2] == [(3, "Production"), (2, "Production")]  # newest first
    client.delete_registered_model_alias(name, "champion")
    with pytest.raises(cairn.NotFoundError):
        client.get_model_version_by_alias(name, "champion")


def test_register_model_search_tags_and_descriptions(cairn_env, client):
    cairn = cairn_env
    name = _name("search")
    [info] = _log_versions(cairn, name + "-src", 1)
    created = client.create_registered_model(name, tags={"team": "fraud"}, description="d1")
    assert created.name == name and created.tags == {"team": "fraud"}
    mv = cairn.register_model(info.model_uri, name)
    assert mv.version == 1 and mv.run_id == info.run_id and mv.source == info.model_uri
    mv2 = cairn.register_model(f"models:/{name}/1", name)  # a copy of version 1
    assert mv2.version == 2 and mv2.source == info.model_uri
    client.update_model_version(name, 2, "second")
    client.set_model_version_tag(name, 2, "validated", "yes")
    v2 = client.get_model_version(name, "2")
    assert v2.description == "second" and v2.tags == {"validated": "yes"}
    client.update_registered_model(name, "d2")
    client.set_registered_model_tag(name, "owner", "ana")
    model = client.get_registered_model(name)
    assert model.description == "d2" and model.tags == {"team": "fraud", "owner": "ana"}

    found = client.search_registered_models(f"name = '{name}'")
    assert [m.name for m in found] == [name]
    assert name in [m.name for m in client.search_registered_models("tags.team = 'fraud'")]
    versions = client.search_model_versions(f"name = '{name}'")
    assert sorted(v.version for v in versions) == [1, 2]
    tagged = client.search_model_versions(f"name = '{name}' AND tags.validated = 'yes'")
    assert [v.version for v in tagged] == [2]
    by_run = client.search_model_versions(f"run_id = '{info.run_id}'")
    assert {(v.name, v.version) for v in by_run} >= {(name, 1), (name, 2)}

    client.delete_model_version_tag(name, 2, "validated")
    assert client.get_model_version(name, 2).tags == {}
    client.delete_model_version(name, 1)
    with pytest.raises(cairn.NotFoundError):
        client.get_model_version(name, 1)
    client.delete_registered_model(name)
    with pytest.raises(cairn.NotFoundError):
        client.get_registered_model(name)


def test_registry_errors_are_typed(cairn_env, client):
    cairn = cairn_env
    name = _name("err")
    _log_versions(cairn, name, 1)
    with pytest.raises(cairn.AlreadyExistsError):
        client.create_registered_model(name)
    with pytest.raises(cairn.NotFoundError):
        client.get_model_version(name, 7)
    with pytest.raises(cairn.NotFoundError):
        client.set_registered_model_alias(name, "champion", 7)
    with pytest.raises(cairn.NotFoundError):
        cairn.pyfunc.load_model(f"models:/{name}/7")
    with pytest.raises(cairn.NotFoundError):
        cairn.pyfunc.load_model(f"models:/{name}@nobody")
    with pytest.raises(cairn.NotFoundError):
        cairn.pyfunc.load_model(f"models:/{name}/Staging")  # no version in Staging
    with pytest.raises(cairn.NotFoundError):
        client.get_registered_model(_name("missing"))
    with pytest.raises(cairn.InvalidArgumentError):
        client.transition_model_version_stage(name, 1, "Prod")
    with pytest.raises(cairn.InvalidArgumentError):
        client.get_model_version(name, "one")
    with pytest.raises(cairn.NotFoundError):
        client.create_model_version(_name("nomodel"), "runs:/x/model")  # no createModelIfMissing
