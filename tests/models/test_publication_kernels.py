"""The publication game's fast engine (PublicationKernels): known analytic results (Ioannidis 2005),
invariants, determinism."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from models.games import GAMES
from models.games.publication import PUBLICATION_PARAMS
from models.games.publication.kernels import PublicationKernels
from models.learners import resolve_learner
from models.params import ConfigError
from models.simulate import simulate

NOVEL_FULL_RIGOR = 2  # with the default 3 rigor levels: novel at rigor 0, 0.5, 1, then replications


def world(**values) -> dict:
    return PUBLICATION_PARAMS.resolve(values)


def n_actions(game: PublicationKernels) -> int:
    return game.roles["researcher"][1]


def play(game: PublicationKernels, actions: torch.Tensor, rounds: int) -> dict[str, torch.Tensor]:
    """Step a game with fixed actions; return each tally summed over rounds, per world."""
    totals: dict[str, torch.Tensor] = {}
    for _ in range(rounds):
        tallies = game.step({"researcher": actions}).tallies
        for name, value in vars(tallies).items():
            if isinstance(value, torch.Tensor):
                totals[name] = totals.get(name, 0) + value.double()
    return totals


def ioannidis_ppv(base_rate: float, power: float, alpha: float) -> float:
    odds = base_rate / (1 - base_rate)
    return power * odds / (power * odds + alpha)


def test_ppv_without_bias_matches_ioannidis_over_a_grid():
    """Novel studies only, every result published, no learning: PPV = (1-b)R / ((1-b)R + a)."""
    grid = list(itertools.product([0.01, 0.1, 0.5], [0.2, 0.5, 0.8], [0.01, 0.05, 0.2]))
    worlds = [
        world(n_researchers=1000, base_rate=b, power=p, alpha=a, hacked_alpha=a, publish_null_prob=1.0)
        for b, p, a in grid
    ]
    game = PublicationKernels(worlds, seeds=list(range(len(worlds))))
    actions = torch.full((len(worlds), 1000), NOVEL_FULL_RIGOR)
    totals = play(game, actions, rounds=100)
    positives = totals["published_novel_positives"]
    true_positives = positives - totals["published_false_positives"]
    for i, (b, p, a) in enumerate(grid):
        ppv = ioannidis_ppv(b, p, a)
        n = positives[i].item()
        # Given n published positives, each is true with probability PPV: a binomial count.
        z = (true_positives[i].item() - n * ppv) / math.sqrt(n * ppv * (1 - ppv))
        assert abs(z) < 4, f"base_rate={b} power={p} alpha={a}: PPV {true_positives[i] / n:.4f} vs {ppv:.4f}"


def test_replication_rate_matches_power_and_alpha_weighted_by_ppv():
    """Replicating fresh findings at full rigor succeeds with probability PPV*power + (1-PPV)*alpha."""
    base_rate, power, alpha = 0.2, 0.7, 0.05
    game = PublicationKernels(
        [world(n_researchers=2000, base_rate=base_rate, power=power, alpha=alpha, publish_null_prob=1.0)],
        seeds=[4],
    )
    actions = torch.tensor([NOVEL_FULL_RIGOR, 5]).repeat(1000).view(1, -1)  # half novel, half replicate
    totals = play(game, actions, rounds=150)
    ppv = ioannidis_ppv(base_rate, power, alpha)
    expected = ppv * power + (1 - ppv) * alpha
    n = totals["replication_studies"].item()
    z = (totals["replication_successes"].item() - n * expected) / math.sqrt(n * expected * (1 - expected))
    assert n > 10_000
    assert abs(z) < 4


@pytest.mark.parametrize(("rigor_index", "publish_null_prob"), [(0, 0.0), (1, 0.3), (2, 1.0)])
def test_publications_follow_productivity_and_publication_bias(rigor_index, publish_null_prob):
    """E[published per researcher] = (1 - cost*r) * (P(positive) + P(null) * publish_null_prob)."""
    params = world(n_researchers=1000, rigor_cost=0.6, publish_null_prob=publish_null_prob)
    rigor = rigor_index / 2
    alpha = params["hacked_alpha"] + (params["alpha"] - params["hacked_alpha"]) * rigor
    p_positive = params["base_rate"] * params["power"] + (1 - params["base_rate"]) * alpha
    expected = (1 - 0.6 * rigor) * (p_positive + (1 - p_positive) * publish_null_prob)
    game = PublicationKernels([params], seeds=[9])
    totals = play(game, torch.full((1, 1000), rigor_index), rounds=50)
    n = 1000 * 50
    z = (totals["publications"].item() - n * expected) / math.sqrt(n * expected * (1 - expected))
    assert abs(z) < 4


def test_counts_add_up_and_shares_stay_in_unit_interval():
    generator = torch.Generator().manual_seed(0)
    worlds = [
        world(n_researchers=60, studies_per_round=3, literature_size=25, publish_null_prob=p, base_rate=b)
        for p, b in [(0.0, 0.1), (0.5, 0.5), (1.0, 0.9), (0.2, 0.0)]
    ]
    game = PublicationKernels(worlds, seeds=[1, 2, 3, 4])
    published_so_far = torch.zeros(4, dtype=torch.int64)
    for _ in range(60):
        actions = torch.randint(0, n_actions(game), (4, 60), generator=generator)
        result = game.step({"researcher": actions})
        t = result.tallies
        studies = t.novel_studies + t.replication_studies
        assert (studies <= 60 * 3).all()
        assert (t.replication_successes <= t.replication_studies).all()
        assert (t.published_false_positives <= t.published_novel_positives).all()
        assert (t.published_novel_positives <= t.novel_studies).all()
        assert (t.publications <= studies).all()
        assert (t.novel_choices <= 60).all()
        credit = result.credit["researcher"].dense(60, n_actions(game))
        assert (credit <= 0).all()
        # Each refuted finding costs its author exactly one penalty.
        assert torch.allclose(-credit.sum((1, 2)) % 3.0, torch.zeros(4), atol=1e-4)
        published_so_far += t.published_novel_positives
        received = result.received("researcher")
        assert torch.isfinite(received).all()
        for metric in GAMES["publication"].metrics:
            value = metric.fn(t)
            defined = value[~value.isnan()]
            if metric.bounded:
                assert ((defined >= 0) & (defined <= 1)).all(), metric.name
    assert torch.equal(game.findings_published, published_so_far)
    # A world with base_rate 0 publishes only false findings.
    assert game.literature.true[3, :25].sum() == 0


def test_nothing_to_replicate_before_anything_is_published():
    game = PublicationKernels([world(n_researchers=50)], seeds=[3])
    t = game.step({"researcher": torch.full((1, 50), 4)}).tallies  # everyone replicates in round 0
    assert t.replication_studies.item() == 0 and t.publications.item() == 0


def test_refuted_findings_charge_the_action_that_produced_them():
    params = world(n_researchers=200, base_rate=0.0, hacked_alpha=1.0, alpha=1.0, publish_null_prob=1.0)
    game = PublicationKernels([params], seeds=[5])
    # Round 0: everyone publishes a false positive from action 1 (novel at rigor 0.5).
    game.step({"researcher": torch.full((1, 200), 1)})
    # Round 1: everyone replicates at full rigor; false findings fail only if alpha < 1, so lower it.
    game.p["alpha"].fill_(0.0), game.p["hacked_alpha"].fill_(0.0)
    result = game.step({"researcher": torch.full((1, 200), 5)})
    credit = result.credit["researcher"].dense(200, n_actions(game))[0]
    assert (credit[:, [0, 2, 3, 4, 5]] == 0).all()
    charged = credit[:, 1]
    assert set(charged.unique().tolist()) <= {0.0, -3.0}
    refuted = int(result.tallies.replication_studies.item() - result.tallies.replication_successes.item())
    distinct = int((charged < 0).sum())
    # Each finding is replicated once, so each failed replication refutes a different finding; the
    # replicators who drew a finding another took first ran no study.
    assert 0 < distinct == refuted < 200


def test_same_config_and_seed_give_the_same_numbers_and_batches_do_not_matter():
    learner = {"researcher": resolve_learner({}, "learners.researcher")}
    worlds = [world(n_researchers=30, publish_null_prob=p) for p in (0.0, 0.5, 1.0)]
    first = simulate("publication", worlds, learner, [10, 20, 30], rounds=80)
    second = simulate("publication", worlds, learner, [10, 20, 30], rounds=80)
    torch.testing.assert_close(first, second, rtol=0, atol=0, equal_nan=True)
    alone = simulate("publication", worlds[1:2], learner, [20], rounds=80)
    torch.testing.assert_close(first[:, 1:2], alone, rtol=0, atol=0, equal_nan=True)
    other_seed = simulate("publication", worlds[1:2], learner, [21], rounds=80)
    assert not torch.equal(alone.nan_to_num(), other_seed.nan_to_num())


def test_worlds_of_one_batch_must_share_shape_parameters():
    with pytest.raises(ConfigError, match="n_researchers differs"):
        PublicationKernels([world(n_researchers=10), world(n_researchers=20)], seeds=[1, 2])


def test_a_full_literature_favours_no_researcher_by_index():
    """When more new findings appear than the literature holds, which ones it keeps must not depend on
    the researcher's index (it once kept the highest indices', so low-index researchers never faced a
    replication). Everyone publishes a positive every round; the kept authors must be uniform."""
    params = world(n_researchers=40, literature_size=10, alpha=1.0, hacked_alpha=1.0, rigor_cost=0.0)
    game = PublicationKernels([params] * 4, seeds=[1, 2, 3, 4])
    kept = torch.zeros(40)
    for _ in range(100):
        game.step({"researcher": torch.zeros(4, 40, dtype=torch.int64)})
        kept += torch.bincount(game.literature.author[:, :10].reshape(-1).long(), minlength=40)
    expected = kept.sum() / 40
    chi_square = ((kept - expected) ** 2 / expected).sum().item()
    assert chi_square < 73.4  # 39 degrees of freedom, p = 0.001
