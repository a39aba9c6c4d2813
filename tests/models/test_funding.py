"""Funding (models/games/publication/funding.py): labs spend funds on studies, and each funding rule gives
its grants to the labs it says."""

from __future__ import annotations

import math

import pytest
import torch
from helpers import learner, needs_cpp_compiler

from models.games import get_game
from models.games.publication.funding import FUNDER, Funds, grants, net_discoveries
from models.games.publication.params import FUNDING_RULES, PUBLICATION_PARAMS
from models.params import ConfigError
from models.random import RandomStreams, world_keys
from models.simulate import build_batch, play
from studies.config import plan_study

N_LABS = 10


def funds(publications: list[int], replications: list[int] | None = None, citations: list[int] | None = None):
    zeros = [0] * len(publications)
    return Funds(
        held=torch.zeros(1, len(publications)),
        publications=torch.tensor([publications], dtype=torch.int32),
        citations=torch.tensor([citations or zeros], dtype=torch.int32),
        replications=torch.tensor([replications or zeros], dtype=torch.int32),
    )


def params(**values: float) -> dict:
    resolved = PUBLICATION_PARAMS.resolve({"n_researchers": N_LABS, "funding_period": 10, **values})
    # As a batch holds them: per-world numbers as (worlds, 1, 1) tensors.
    return {
        key: torch.tensor([[[float(v)]]]) if PUBLICATION_PARAMS.params[key].varies_per_world else v
        for key, v in resolved.items()
    }


def granted(
    rule: str, lab_funds: Funds, seed: int = 0, alpha: list[float] | None = None, **values: float
) -> list[float]:
    p = params(**{"grant_budget": 30.0, "grants_per_period": 3, **values})
    index = torch.tensor([FUNDING_RULES.index(rule)])
    alphas = None if alpha is None else torch.tensor([alpha])
    return grants(p, index, lab_funds, RandomStreams(world_keys([seed])), 0, alphas)[0].tolist()


PUBLISHED = [0, 5, 1, 7, 7, 2, 0, 3, 9, 1]


def test_funding_by_publications_gives_the_grants_to_the_most_published_labs():
    assert granted("publications", funds(PUBLISHED)) == [0, 0, 0, 10, 10, 0, 0, 0, 10, 0]


def test_funding_by_impact_gives_the_grants_to_the_most_cited_labs():
    cited = [4, 0, 0, 0, 0, 0, 8, 0, 0, 6]
    assert granted("impact", funds(PUBLISHED, citations=cited)) == [10, 0, 0, 0, 0, 0, 10, 0, 0, 10]


def test_ties_for_the_last_grant_are_broken_at_random():
    # Labs 3 and 4 tie at 7 behind lab 8: over seeds, each gets the second grant about half the time.
    wins = [granted("publications", funds(PUBLISHED), seed=s, grants_per_period=2)[3] > 0 for s in range(400)]
    p = params(grant_budget=30.0, grants_per_period=2)
    assert p["grants_per_period"] == 2
    assert abs(sum(wins) / 400 - 0.5) < 4 * math.sqrt(0.25 / 400)


def test_a_lottery_funds_every_lab_equally_often():
    """3 grants among 10 labs: each lab funded with probability 0.3 whatever it published; 2,000 decisions,
    each lab's frequency within 4 standard errors."""
    rng = RandomStreams(world_keys(list(range(2000))))
    p = params(grant_budget=30.0, grants_per_period=3)
    p = {k: v.expand(2000, 1, 1) if isinstance(v, torch.Tensor) else v for k, v in p.items()}
    lab_funds = Funds(
        held=torch.zeros(2000, N_LABS),
        publications=torch.tensor([PUBLISHED] * 2000, dtype=torch.int32),
        citations=torch.zeros(2000, N_LABS, dtype=torch.int32),
        replications=torch.zeros(2000, N_LABS, dtype=torch.int32),
    )
    given = grants(p, torch.full((2000,), FUNDING_RULES.index("lottery")), lab_funds, rng, 0)
    assert ((given > 0).sum(1) == 3).all()
    share = (given > 0).double().mean(0)
    assert ((share - 0.3).abs() < 4 * math.sqrt(0.21 / 2000)).all(), share


def test_a_modified_lottery_draws_among_the_labs_above_the_threshold_only():
    for seed in range(30):
        given = granted("modified_lottery", funds(PUBLISHED), seed=seed, funding_threshold=5)
        assert sum(g > 0 for g in given) == 3
        assert all(PUBLISHED[lab] >= 5 for lab, g in enumerate(given) if g > 0)
    # Fewer eligible labs than grants: the rest is not given.
    given = granted("modified_lottery", funds(PUBLISHED), funding_threshold=8)
    assert given == [0, 0, 0, 0, 0, 0, 0, 0, 10, 0]


def test_a_modified_lottery_with_an_alpha_cap_draws_among_the_rigorous_labs_only():
    """Smaldino, Turner & Contreras Kallens' (2019) modified lottery screens on the false positive rate:
    only labs with alpha <= A enter."""
    alpha = [0.3, 0.01, 0.5, 0.04, 0.9, 0.05, 0.2, 0.6, 0.7, 0.02]
    winners = set()
    for seed in range(60):
        given = granted(
            "modified_lottery", funds(PUBLISHED), seed=seed, alpha=alpha, funding_threshold=0,
            funding_alpha_cap=0.05,
        )  # fmt: skip
        funded = {lab for lab, g in enumerate(given) if g > 0}
        assert len(funded) == 3 and funded <= {1, 3, 5, 9}
        winners |= funded
    assert winners == {1, 3, 5, 9}
    # No other rule reads alpha.
    assert granted("publications", funds(PUBLISHED), alpha=alpha, funding_alpha_cap=0.05) == granted(
        "publications", funds(PUBLISHED)
    )


def test_a_mixed_rule_gives_its_share_by_publications_and_the_rest_by_lottery():
    """mixed_share 2/3 of 3 grants: 2 to the most published (lab 8 and one of 3, 4), 1 by lottery among the
    others; over seeds every other lab wins the lottery grant sometimes."""
    lottery_winners = set()
    for seed in range(200):
        given = granted("mixed", funds(PUBLISHED), seed=seed, mixed_share=2 / 3)
        funded = {lab for lab, g in enumerate(given) if g > 0}
        assert len(funded) == 3 and 8 in funded and funded & {3, 4}
        lottery_winners |= funded - {8, 3, 4}
    assert lottery_winners == {0, 1, 2, 5, 6, 7, 9}


def test_a_mixed_rule_with_one_grant_gives_it_by_publications_with_probability_mixed_share():
    """One grant, mixed_share 0.25: the most published lab (8) gets it with probability 0.25 + 0.75 / 10 =
    0.325 (by merit, or by the lottery); over 2,000 seeds within 4 standard errors."""
    one_grant = {"grants_per_period": 1, "grant_budget": 10.0, "mixed_share": 0.25}
    wins = sum(granted("mixed", funds(PUBLISHED), seed=s, **one_grant)[8] > 0 for s in range(2_000))
    assert abs(wins / 2_000 - 0.325) < 4 * math.sqrt(0.325 * 0.675 / 2_000)


def test_a_replication_set_aside_goes_to_labs_that_replicated():
    replicated = [0, 0, 1, 0, 0, 0, 2, 0, 0, 0]
    given = granted("publications", funds(PUBLISHED, replications=replicated), replication_set_aside=2 / 3)
    # 2 of the 3 grants to the two replicating labs (2 and 6), the third to the most published (lab 8).
    assert given == [0, 0, 10, 0, 0, 0, 10, 0, 10, 0]


def test_a_lab_without_funds_starts_no_study():
    """Every lab runs one novel study a round at rigor 0 (always finished), study_cost 1, 3 funds each, no
    grants: each lab runs exactly three studies, in rounds 0-2, then none."""
    world = PUBLICATION_PARAMS.resolve({"n_researchers": 20, "study_cost": 1.0, "initial_funds": 3.0})
    learners = {"researcher": learner("fixed_actions", actions=[0] * 20)}
    tallies = play("publication", [world] * 2, learners, [1, 2], 6)
    assert [int(t.novel_studies[0]) for t in tallies] == [20, 20, 20, 0, 0, 0]
    assert all(float(t.funds_gini[0].nan_to_num(-1)) == -1 for t in tallies[3:])  # all broke: undefined
    assert [float(t.funds_spent[0]) for t in tallies] == [20.0] * 3 + [0.0] * 3
    per_fund = next(m for m in get_game("publication").metrics if m.name == "true_discoveries_per_fund")
    found = [t.published_novel_positives[0] - t.published_false_positives[0] for t in tallies[:3]]
    assert [float(per_fund.fn(t)[0]) for t in tallies[:3]] == [float(n) / 20 for n in found]
    assert math.isnan(float(per_fund.fn(tallies[4])[0]))  # nothing spent: undefined


def test_grants_reach_the_labs_and_fund_their_studies():
    """Labs hold 1 fund, studies cost 1, and the funder gives 5 grants of 2 every 2 rounds by lottery: after
    the first round only the funded labs work, two studies each per grant."""
    world = PUBLICATION_PARAMS.resolve(
        {
            "n_researchers": 20,
            "study_cost": 1.0,
            "initial_funds": 1.0,
            "grant_budget": 10.0,
            "grants_per_period": 5,
            "funding_period": 2,
            "funding_rule": "lottery",
        }
    )
    learners = {"researcher": learner("fixed_actions", actions=[0] * 20)}
    batch = build_batch("publication", [world], learners, [3])
    studies = [int(batch.round().tallies.novel_studies[0]) for _ in range(6)]
    assert studies == [20, 0, 5, 5, 5, 5]
    # The grants of round 5 wait, unspent, for round 6.
    assert sorted(batch.engine.funds.held[0].tolist()) == [0.0] * 15 + [2.0] * 5


def test_the_funder_is_paid_true_minus_false_discoveries_and_its_choice_sets_the_rule():
    world = PUBLICATION_PARAMS.resolve(
        {
            "n_researchers": 20,
            "study_cost": 1.0,
            "grant_budget": 10.0,
            "grants_per_period": 5,
            "funder_acts": True,
        }
    )
    learners = {"researcher": learner("q_learning"), "funder": learner("fixed_actions", actions=[2])}
    batch = build_batch("publication", [world] * 2, learners, [1, 2])
    for _ in range(5):
        result = batch.round()
        assert torch.equal(result.payoffs["funder"].view(-1), net_discoveries(result.tallies))
        assert batch.engine.p["funding_rule"].tolist() == [FUNDING_RULES.index("lottery")] * 2
    assert FUNDER.choices == FUNDING_RULES


def test_a_threshold_no_lab_can_reach_in_the_run_is_refused_before_it_runs():
    game = {"study_cost": 1.0, "funding_rule": "modified_lottery", "studies_per_round": 2}
    plan_study({"study": {"name": "ok", "rounds": 10}, "game": {**game, "funding_threshold": 20}})
    with pytest.raises(ConfigError) as error:
        plan_study({"study": {"name": "far", "rounds": 10}, "game": {**game, "funding_threshold": 21}})
    message = str(error.value)
    assert "funding_threshold = 21" in message and "allowed is 0 to 20" in message and "\n" not in message


def test_a_new_lab_starts_with_initial_funds_and_no_record():
    """Evolving labs (death-birth every round, 20 labs, funds scarce): every offspring's place holds exactly
    initial_funds after its birth round, and its track record starts at 0, as in Smaldino, Turner &
    Contreras Kallens (2019)."""
    world = PUBLICATION_PARAMS.resolve(
        {
            "study_model": "effort",
            "n_researchers": 20,
            "study_cost": 1.0,
            "initial_funds": 3.0,
            "grant_budget": 3.0,
            "replication_rate": 0.0,
        }
    )
    learners = {"researcher": learner("evolution", sample_size=5)}
    batch = build_batch("publication", [world] * 3, learners, [1, 2, 3])
    evolution = batch.learners["researcher"]
    for _ in range(30):
        batch.round()
        newborn = evolution.births()
        assert newborn.sum(1).tolist() == [1, 1, 1]
        assert torch.equal(batch.engine.funds.held[newborn], torch.full((3,), 3.0))
        assert batch.engine.funds.publications[newborn].tolist() == [0, 0, 0]
    # The others keep their record: some labs have published several studies since their founding.
    assert int(batch.engine.funds.publications.max()) > 1


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"grant_budget": -1.0}, "game.grant_budget = -1"),
        ({"funding_rule": "merit"}, "game.funding_rule = 'merit'"),
        ({"citations_per_paper": 12, "literature_size": 10}, "citations_per_paper = 12"),
        ({"grants_per_period": 11, "n_researchers": 10}, "grants_per_period = 11"),
        ({"study_cost": -0.5}, "game.study_cost = -0.5"),
        ({"review_detection": 1.5}, "game.review_detection = 1.5"),
    ],
)
def test_impossible_institutions_are_refused_in_one_line_naming_the_field(values: dict, named: str):
    with pytest.raises(ConfigError) as error:
        PUBLICATION_PARAMS.resolve(values, "game")
    message = str(error.value)
    assert named in message and "allowed" in message and "\n" not in message, message


@needs_cpp_compiler
def test_fused_grants_are_the_eager_ones(monkeypatch: pytest.MonkeyPatch):
    """The grants of a fused batch of an accelerated engine (the labs' draws hashed by the compiled
    random_kernels.hashed_draws) are the rules' ones, bit for bit: 300 worlds of 40 labs, each world's
    rule, record and set-aside at random."""
    from models import speed
    from models.random_kernels import hashed_draws

    worlds, labs = 300, 40
    gen = torch.Generator().manual_seed(5)
    p = params(grant_budget=30.0, grants_per_period=7, funding_threshold=3.0, mixed_share=0.5)
    p = {k: v.expand(worlds, 1, 1).clone() if isinstance(v, torch.Tensor) else v for k, v in p.items()}
    p["replication_set_aside"] = torch.rand(worlds, 1, 1, generator=gen) * 0.5

    def counts(high: int) -> torch.Tensor:
        return torch.randint(0, high, (worlds, labs), generator=gen, dtype=torch.int32)

    lab_funds = Funds(torch.zeros(worlds, labs), counts(9), counts(30), counts(2))
    rule = torch.randint(0, len(FUNDING_RULES), (worlds,), generator=gen)
    alpha = torch.rand(worlds, labs, generator=gen)
    rng = RandomStreams(world_keys(list(range(worlds))))
    eager = grants(p, rule, lab_funds, rng, 4, alpha)
    rng.hashing = hashed_draws
    monkeypatch.setattr("models.random.HASHING_DRAWS", 1)
    with speed.fusing():
        fused = grants(p, rule, lab_funds, rng, 4, alpha)
    assert speed.compiling_works()
    assert torch.equal(fused, eager)
    assert (eager > 0).sum(1).max() <= 7 and (eager > 0).any()
