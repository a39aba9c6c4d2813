"""Typed parameters: bad values are refused with a message naming field, value and what is allowed."""

from __future__ import annotations

import pytest

from models.games.publication import PUBLICATION_PARAMS
from models.params import ConfigError


def refusal(values: dict) -> str:
    with pytest.raises(ConfigError) as error:
        PUBLICATION_PARAMS.resolve(values)
    return str(error.value)


def test_defaults_fill_missing_values_and_whole_floats_become_ints():
    resolved = PUBLICATION_PARAMS.resolve({"n_researchers": 50.0, "base_rate": 1})
    assert resolved["n_researchers"] == 50 and isinstance(resolved["n_researchers"], int)
    assert resolved["base_rate"] == 1.0 and isinstance(resolved["base_rate"], float)
    assert resolved["power"] == PUBLICATION_PARAMS.params["power"].default


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"base_rate": 1.5}, ["game.base_rate = 1.5", "out of range", "<= 1"]),
        ({"power": -0.1}, ["game.power = -0.1", ">= 0"]),
        ({"n_researchers": 10.5}, ["game.n_researchers = 10.5", "not a whole number", "an integer"]),
        ({"n_researchers": 1}, ["game.n_researchers = 1", ">= 2"]),
        ({"alpha": "0.05"}, ["game.alpha = '0.05'", "wrong type", "a number"]),
        ({"alpha": True}, ["game.alpha = True", "wrong type"]),
        ({"rigor_cost": 1.0}, ["game.rigor_cost = 1.0", "< 1"]),
        ({"alpha": float("nan")}, ["not finite"]),
        (
            {"publication_bias": 0.5},
            ["unknown parameter(s) publication_bias", "allowed are", "publish_null_prob"],
        ),
        ({"alpha": 0.4, "hacked_alpha": 0.1}, ["hacked_alpha = 0.1 is below alpha = 0.4"]),
    ],
)
def test_refusals_name_the_field_the_value_and_what_is_allowed(values, expected):
    message = refusal(values)
    for fragment in expected:
        assert fragment in message
    assert "\n" not in message
