"""``jd.recipe``'s promises a user relies on, that the known answers do not reach: aliases
are known names (no warning), unknown names are warned about by name, both spellings at once
keep the canonical one, and ``version`` is keyword-only (found by mutation testing,
docs/testing.md)."""

from __future__ import annotations

import inspect

import pytest

import juniper_data_core as jd


def test_aliases_map_to_their_field_without_a_warning() -> None:
    r = jd.recipe("spiral", {"n_points": 100, "noise_level": 0.2, "seed": 1})
    assert r.warnings == ()
    assert (r.params["n_points_per_spiral"], r.params["noise"]) == (100, 0.2)
    assert "n_points" not in r.params and "noise_level" not in r.params
    canonical = jd.recipe("spiral", {"n_points_per_spiral": 100, "noise": 0.2, "seed": 1})
    assert r.dataset_id == canonical.dataset_id


def test_unknown_parameters_are_named_in_a_warning_and_dropped() -> None:
    r = jd.recipe("spiral", {"seed": 1, "bogus": 3, "n_points": 10})
    assert r.warnings == ("unknown parameter 'bogus' ignored",)
    assert "bogus" not in r.params


def test_alias_and_field_together_keep_the_field() -> None:
    r = jd.recipe("spiral", {"seed": 1, "n_points": 10, "n_points_per_spiral": 20})
    assert r.params["n_points_per_spiral"] == 20
    assert r.warnings == ("parameter 'n_points' ignored: 'n_points_per_spiral' is also given",)


def test_version_is_keyword_only() -> None:
    assert inspect.signature(jd.recipe).parameters["version"].kind is inspect.Parameter.KEYWORD_ONLY
    with pytest.raises(TypeError):
        jd.recipe("xor", {"seed": 1}, "1.0.0")  # type: ignore[call-arg]
    assert jd.recipe("xor", {"seed": 1}, version="1.0.0").dataset_id.startswith("xor-1.0.0-")
