"""The publication round's studies as kernels (study_kernels.py): the rules' numbers, bit for bit, for every
configuration they play (the effort model, evolving labs, journals that act and review, funds, several slots a
lab), eagerly and fused; and which engine plays what."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from helpers import needs_cpp_compiler, needs_cuda

from models import speed
from models.games import get_game
from models.games.publication.kernels import PublicationKernels
from models.games.publication.params import PUBLICATION_PARAMS
from models.games.publication.rules import PublicationRules
from models.games.publication.study_kernels import PublicationStudyKernels
from models.learners import resolve_learner
from models.simulate import build_batch

# STCK's (2019) world with every institution on, as the bench's `institutions` scenario has it: evolving
# labs in the effort model, three journals with peer review, citations with preferential attachment and
# credit, a mixed funding rule with a replication set-aside.
INSTITUTIONS = {
    "study_model": "effort", "effort": 20.0, "effort_productivity": 0.2, "replication_rate": 0.2,
    "n_journals": 3, "review_detection": 0.5, "citations_per_paper": 2, "citation_bias": 1.0,
    "citation_reward": 0.1, "study_cost": 1.0, "initial_funds": 3.0, "grant_budget": 60.0,
    "grants_per_period": 12, "funding_rule": "mixed", "replication_set_aside": 0.25,
}  # fmt: skip
# Chosen actions rather than traits: the rigor model with two journals that act, two study slots a lab that
# its funds do not always cover, and levels of power and of u; the effort model's levels, with findings
# replicated twice in a small literature.
ACTING_JOURNALS = {
    "n_journals": 2, "journals_act": True, "journal_levels": 3, "studies_per_round": 2, "study_cost": 1.0,
    "initial_funds": 1.0, "grant_budget": 40.0, "grants_per_period": 10, "power_levels": 2, "qrp_levels": 3,
    "qrp_bias": 0.3, "review_detection": 0.3, "citations_per_paper": 1,
}  # fmt: skip
EFFORT_LEVELS = {
    "study_model": "effort", "effort_levels": 3, "max_effort": 100.0, "effort_productivity": 0.1,
    "replications_per_finding": 2, "literature_size": 5, "publish_null_prob": 0.4, "confirmed_reward": 0.5,
}  # fmt: skip
CONFIGS = {"institutions": INSTITUTIONS, "acting_journals": ACTING_JOURNALS, "effort_levels": EFFORT_LEVELS}


def worlds(config: dict[str, Any], copies: int = 1) -> list[dict[str, Any]]:
    """Worlds of 37 researchers (not a multiple of a vector's width) that differ in what the studies read:
    the base rate, the rewards; `copies` times three."""
    varied = ({}, {"base_rate": 0.4, "novelty_reward": 2.0, "null_reward": 0.5}, {"replication_reward": 3.0})
    return [PUBLICATION_PARAMS.resolve({"n_researchers": 37, **config, **more}) for more in varied] * copies


def actions(game: PublicationRules, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """A round's random actions: an evolving lab's traits in their ranges where the game has them, else
    action indices; the journals' where they act."""
    shape = (game.n_worlds, game.n_researchers)
    out = {}
    if game.p["study_model"] == "effort" and game.p["effort_levels"] == 1:
        u = torch.rand(*shape, 4, generator=generator)
        low, high = torch.tensor([1.0, 1e-3, 0.0, 0.0]), torch.tensor([game.p["max_effort"], 0.999, 1.0, 1.0])
        out["researcher"] = low + u * (high - low)
    else:
        out["researcher"] = torch.randint(0, game.roles["researcher"][1], shape, generator=generator)
    if game.p["journals_act"]:
        journals = game.roles["journal"]
        out["journal"] = torch.randint(0, journals[1], (game.n_worlds, journals[0]), generator=generator)
    return out


def same(a: Any, b: Any, where: str) -> None:
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert torch.equal(a.nan_to_num(-1.5) if a.is_floating_point() else a, b.nan_to_num(-1.5)
                           if b.is_floating_point() else b), where  # fmt: skip
    else:
        assert a == b, where


def round_record(game: PublicationRules, result: Any) -> dict[str, Any]:
    """Everything a round gives out or leaves behind: payoffs, credit, tallies, every role's observation,
    the literature and the funds."""
    credit = result.credit["researcher"]
    record = {f"payoff {role}": value for role, value in result.payoffs.items()}
    record |= {
        f"credit {name}": getattr(credit, name) for name in ("world", "agent", "action", "amount", "round")
    }
    record |= {f"tally {name}": value for name, value in vars(result.tallies).items()}
    record |= {
        f"observation {role}": result.observations[role] for role in ("researcher", "journal", "funder")
    }
    record |= {f"literature {name}": value for name, value in game.literature.columns().items()}
    if game.funds is not None:
        record |= {f"funds {name}": value.clone() for name, value in vars(game.funds).items()}
    return record


@pytest.mark.parametrize("config", CONFIGS)
def test_the_studies_kernels_play_the_rules_numbers(config: str, monkeypatch: pytest.MonkeyPatch):
    # The kernels' path as a fused batch takes it, run eagerly here (compiling is the next test's).
    monkeypatch.setattr(speed, "fused", lambda: True)
    seeds = list(range(3, 15))
    rules = PublicationRules(worlds(CONFIGS[config], 4), seeds)
    kernels = PublicationStudyKernels(worlds(CONFIGS[config], 4), seeds)
    generator = torch.Generator().manual_seed(11)
    studies = []
    kernels_studies = kernels._studies
    monkeypatch.setattr(
        kernels, "_studies", lambda *args: studies.append(kernels_studies(*args)) or studies[-1]
    )
    with torch.inference_mode():
        for t in range(60):
            move = actions(rules, generator)
            expected, got = round_record(rules, rules.step(move)), round_record(kernels, kernels.step(move))
            assert expected.keys() == got.keys()
            for name, value in expected.items():
                same(value, got[name], f"round {t}: {name}")
    # The kernels played every round, and the worlds did what the rules are there for.
    assert len(studies) == 60
    done = sum(int(s.done.sum()) for s in studies)
    assert done > 0.1 * 60 * 12 * 37 * rules.slots
    assert int(sum(s.replicated.sum() for s in studies)) > 100
    if rules.funds is not None:  # funds stopped some labs
        assert sum(int((~s.affordable).sum()) for s in studies) > 100


# Compiled for the CPU as C++, for a GPU as Triton (the device check runs this on a lent GPU).
@pytest.mark.parametrize(
    "device", [pytest.param("cpu", marks=needs_cpp_compiler), pytest.param("cuda", marks=needs_cuda)]
)
def test_a_fused_batch_on_the_studies_kernels_gives_the_eager_numbers(device: str):
    # Evolving labs with every institution, two slots a lab (each slot's cost), learning journals and
    # funder: compiled and eager, the same tallies, literature, funds and traits.
    config = {**INSTITUTIONS, "studies_per_round": 2, "journals_act": True, "funder_acts": True}
    learners = {"researcher": resolve_learner({"kind": "evolution"}, "researcher")}

    def run(fused: bool) -> tuple[list[dict[str, Any]], Any]:
        batch = build_batch("publication", worlds(config), learners, [3, 4, 5], device)
        assert type(batch.engine) is PublicationStudyKernels
        batch.fused = fused
        with torch.inference_mode():
            return [vars(batch.round().tallies) for _ in range(25)], batch

    (eager, eager_batch), (fused, fused_batch) = run(False), run(True)
    assert not speed._unavailable  # compiled, not run eagerly after a failed compile
    for t, (a, b) in enumerate(zip(eager, fused, strict=True)):
        for name, value in a.items():
            same(value, b[name], f"round {t}: {name}")
    for name, value in eager_batch.engine.literature.columns().items():
        same(value, fused_batch.engine.literature.columns()[name], name)
    for name, value in vars(eager_batch.engine.funds).items():
        same(value, getattr(fused_batch.engine.funds, name), name)
    same(eager_batch.learners["researcher"].values, fused_batch.learners["researcher"].values, "traits")


def test_each_configuration_runs_on_the_fastest_engine_that_plays_it():
    spec = get_game("publication")
    rigor = PUBLICATION_PARAMS.resolve({"n_researchers": 20})
    assert spec.engine_for(rigor) is PublicationKernels
    for config in CONFIGS.values():
        assert spec.engine_for(PUBLICATION_PARAMS.resolve({"n_researchers": 20, **config})) is (
            PublicationStudyKernels
        )
    # Its kernels save less a round than the rigor model's: fusing them needs larger runs to pay.
    assert PublicationStudyKernels.fusing_cost > PublicationKernels.fusing_cost == 1.0
