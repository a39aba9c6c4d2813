"""Laver's party decision rules (models/learners/laver.py) in the election game, and the published results
they should reproduce (Laver 2005, APSR 99(2); Laver & Sergenti 2011, "Party Competition", ch. 3-4).

Every world has normal voters who all vote sincerely (compulsory voting, no biases: each votes for the
nearest platform, as Laver's voters do), parties in a continuous policy space (Laver's) unless a test says
otherwise, and plurality counting of first preferences (the vote shares the rules react to). Same seeds give
the same numbers, so the tests are deterministic; the tolerances say what each result allows for.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch

from models.games import GAMES
from models.learners import check_learner, resolve_learner
from models.params import ConfigError
from models.simulate import build_batch, play

ELECTION = GAMES["election"]
KINDS = ("sticker", "aggregator", "hunter", "predator")


def world(**values: Any) -> dict[str, Any]:
    """A world with Laver's setting: normal voters who all vote sincerely, a continuous policy space."""
    settings = {"compulsory_voting": True, "platform_space": "continuous", "voter_distribution": "normal"}
    return ELECTION.params.resolve({**settings, **values})


def learners(kind: str, **params: Any) -> dict[str, dict[str, Any]]:
    return {
        "voter": resolve_learner({"kind": "fixed", "probabilities": [0.0, 1.0]}, "learners.voter"),
        "candidate": resolve_learner({"kind": kind, **params}, "learners.candidate"),
        "institution": resolve_learner({}, "learners.institution"),  # rule fixed: it only plays plurality
    }


def run(kind: str, seeds: list[int], rounds: int, step: float | None = None, **game: Any) -> list[Any]:
    """Every round's tallies of a batch of worlds, one per seed, whose parties all follow `kind`."""
    params = {} if step is None else {"step": step}
    return play("election", [world(**game)] * len(seeds), learners(kind, **params), seeds, rounds)


def platforms(tallies: list[Any]) -> torch.Tensor:
    """(rounds, worlds, parties, dimensions)."""
    return torch.stack([t.platforms for t in tallies])


def shares(tallies: list[Any]) -> torch.Tensor:
    """(rounds, worlds, parties)."""
    return torch.stack([t.vote_shares.float() for t in tallies])


def eccentricity(tallies: list[Any], last: int) -> torch.Tensor:
    """Per world, the parties' mean distance from the electorate's centre over the last rounds."""
    return torch.stack([t.eccentricity for t in tallies[-last:]]).mean(0)


# ------------------------------------------------------------------------------------ aggregators: Lloyd


def test_two_aggregators_end_at_the_centroids_of_the_two_half_electorates():
    """Laver & Sergenti (2011, ch. 4): two Aggregators in a bivariate standard normal electorate split it by
    a line through its centre and each stands at its half's centroid, sqrt(2/pi) = 0.798 from the centre.

    2,000 voters, seeds 0-7, 60 rounds (the split settles within 5); the mean eccentricity over the last 10
    rounds and the 8 worlds is within 0.05 of 0.798. Measured: 0.814, 0.810, 0.809 on seeds 0-7, 100-107,
    200-207 (worlds 0.78-0.84). It lies above 0.798 because a finite electorate's split lines up across its
    direction of largest sample variance, whose standard deviation exceeds 1 by a few percent: sqrt(2/pi)
    times that standard deviation predicts 0.816, 0.809, 0.808, and the parties are within 0.01 of it.
    """
    seeds = list(range(8))
    game = {"n_candidates": 2, "dimensions": 2, "n_voters": 2000}
    tallies = run("aggregator", seeds, rounds=60, **game)
    mean = eccentricity(tallies, last=10).mean().item()
    assert abs(mean - math.sqrt(2 / math.pi)) < 0.05, mean
    voters = ELECTION.build([world(**game)] * len(seeds), seeds).voters.double()
    centred = voters - voters.mean(1, keepdim=True)
    largest = torch.linalg.eigvalsh(centred.mT @ centred / voters.shape[1])[:, -1]
    predicted = (math.sqrt(2 / math.pi) * largest.sqrt()).mean().item()
    assert abs(mean - predicted) < 0.01, (mean, predicted)


def lloyd(voters: np.ndarray, start: np.ndarray, iterations: int = 10_000) -> np.ndarray:
    """Lloyd's algorithm (k-means) to its fixed point: each site to the mean of the voters nearest it (a
    site nearest nobody stays), until nothing moves."""
    sites = start.copy()
    for _ in range(iterations):
        nearest = np.linalg.norm(voters[:, None, :] - sites[None], axis=-1).argmin(1)
        moved = sites.copy()
        for site in range(len(sites)):
            if (nearest == site).any():
                moved[site] = voters[nearest == site].mean(0)
        if np.array_equal(moved, sites):
            return sites
        sites = moved
    raise AssertionError("Lloyd's algorithm did not converge")


@pytest.mark.parametrize("parties", [3, 5])
@pytest.mark.parametrize("dimensions", [1, 2])
def test_aggregators_settle_in_the_centroidal_voronoi_tessellation_lloyd_finds(dimensions, parties):
    """Laver & Sergenti (2011, ch. 4): all-Aggregator systems run Lloyd's algorithm, each party moving to
    its Voronoi cell's centroid, and settle in a centroidal Voronoi tessellation (Du, Faber & Gunzburger
    1999). Lloyd's algorithm in numpy (float64) on the same voters from the same starts (the parties' ideal
    points) gives the positions the parties hold after 100 rounds, within 1e-4 (float32 against float64;
    measured 4e-7), in every world of seeds 0-3 with 500 voters; the parties no longer move.

    platform_extent 4 keeps the space from binding: with the default 2, the outer of five parties in 1-D
    can be held at the edge (seed 0: Lloyd's fixed point is -2.08).
    """
    seeds, extent = [0, 1, 2, 3], 4.0
    game = {"n_candidates": parties, "dimensions": dimensions, "n_voters": 500, "platform_extent": extent}
    tallies = run("aggregator", seeds, rounds=100, **game)
    held = platforms(tallies)
    assert torch.equal(held[-1], held[-2])
    electorate = ELECTION.build([world(**game)] * len(seeds), seeds)
    for w in range(len(seeds)):
        start = np.clip(electorate.ideals[w].double().numpy(), -extent, extent)
        fixed = lloyd(electorate.voters[w].double().numpy(), start)
        np.testing.assert_allclose(held[-1, w].double().numpy(), fixed, atol=1e-4)


# ------------------------------------------------------------------------------------------------- hunters


@pytest.mark.parametrize("parties", [3, 5, 8])
def test_hunters_end_more_central_than_aggregators(parties):
    """Laver & Sergenti (2011, ch. 4; Laver 2005): Hunters, which keep moving while it gains them votes,
    end closer to the electorate's centre than Aggregators, which represent their supporters.

    2-D, 300 voters, seeds 0-5, 200 rounds, mean eccentricity over the last 50 rounds and the 6 worlds.
    Measured (300 voters / 200 rounds; 500 / 300; 1,000 / 500): hunters 0.54-0.58, 0.79-0.81, 0.94-0.95 for
    3, 5, 8 parties, aggregators 1.06, 1.17-1.20, 1.32-1.35; every hunter world below every aggregator world.
    The margin below, 0.2, is half the smallest gap.
    """
    seeds = list(range(6))
    game = {"n_candidates": parties, "dimensions": 2, "n_voters": 300}
    hunters = eccentricity(run("hunter", seeds, rounds=200, **game), last=50)
    aggregators = eccentricity(run("aggregator", seeds, rounds=200, **game), last=50)
    assert hunters.mean() < aggregators.mean() - 0.2, (hunters, aggregators)


def test_two_hunters_in_two_dimensions_converge_on_the_centre():
    """Downs (1957) in two dimensions: with a radially symmetric electorate its centre beats every other
    platform (Plott 1967; Davis, DeGroot & Hinich 1972), and two Hunters close in on it, from a mean
    eccentricity above 1 to about two steps.

    1,000 voters, seeds 0-15, 200 rounds: the mean eccentricity over the last 50 rounds and the 16 worlds
    is below 0.3 (three steps). Measured on seeds 0-15, 100-115 and 200-215: 0.19-0.23 (worst world 0.46,
    from 1.05-1.39 at the start).
    """
    tallies = run("hunter", list(range(16)), rounds=200, n_candidates=2, dimensions=2, n_voters=1000)
    assert tallies[0].eccentricity.mean() > 1.0
    assert eccentricity(tallies, last=50).mean() < 0.3


def test_two_hunters_in_one_dimension_converge_on_the_median_voter():
    """Downs (1957), Black (1948) with the new kinds: two Hunters in 1-D converge on the median voter.

    1,001 voters, seeds 0-15, 300 rounds: the parties' mean distance from the median over the last 75 rounds
    is under 0.2 (two steps), from 0.72 at the start. A hunter with a fixed unit move in 1-D would not get
    there: between two parties only their midpoint decides the shares, moves in opposite directions keep it
    where it is, neither gains, both reverse, and the midpoint freezes after their second moves (measured:
    frozen in 58 of 64 worlds, mean distance 0.67). The 1-D hunter moves as a 2-D hunter's shadow on the
    line, by the cosine of its drawn angle, so that unequal moves shift the midpoint.
    """
    seeds = list(range(16))
    game = {"n_candidates": 2, "dimensions": 1, "n_voters": 1001}
    tallies = run("hunter", seeds, rounds=300, **game)
    median = ELECTION.build([world(**game)] * len(seeds), seeds).median  # (worlds, 1)
    distance = (platforms(tallies)[-75:, ..., 0] - median.view(1, -1, 1)).abs()
    assert distance.mean() < 0.2, distance.mean()


def test_a_hunter_in_one_dimension_moves_as_the_shadow_of_a_two_dimensional_one():
    """In 1-D a move is at most a step long, repeats exactly after a gain, and otherwise points back, with
    the length of a uniform heading's cosine on the half-circle: mean 2/pi of a step (within 5 standard
    errors). Seeds 0-31, 3 parties, 60 rounds, platform_extent 10 so that no move is cut short."""
    tallies = run("hunter", list(range(32)), rounds=60, n_candidates=3, dimensions=1, platform_extent=10.0)
    move = platforms(tallies).diff(dim=0)[..., 0]  # (rounds - 1, worlds, parties)
    share = shares(tallies)
    assert (move.abs() <= 0.1 + 1e-5).all()
    gained = share[1:-1] > share[:-2]
    last, this = move[:-1], move[1:]
    assert torch.allclose(this[gained], last[gained], atol=1e-5)
    turned = ~gained & (last.abs() > 1e-6)
    assert (this[turned] * last[turned] <= 1e-9).all()  # back, or not at all
    lengths = this[turned].abs() / 0.1
    standard_error = math.sqrt(0.5 - (2 / math.pi) ** 2) / math.sqrt(len(lengths))
    assert abs(lengths.mean().item() - 2 / math.pi) < 5 * standard_error, lengths.mean()


def test_a_hunter_repeats_a_move_that_gained_votes_and_else_turns_back():
    """Laver (2005): "if the last policy move increased party support, make the same move; else reverse
    heading and make a unit move in a heading chosen randomly from the arc +-90 degrees of the direction now
    being faced". Every move is one step (0.1) long; a move after a gain repeats the last one exactly; any
    other move points into the half-plane behind the last one, on a heading uniform over that arc (mean
    absolute angle to the reversed heading 45 degrees, within 5 standard errors). 2-D, 5 parties, seeds
    0-31, 60 rounds, platform_extent 10 so that no move is cut short by the edge."""
    tallies = run("hunter", list(range(32)), rounds=60, n_candidates=5, dimensions=2, platform_extent=10.0)
    move = platforms(tallies).diff(dim=0)  # move[r - 1]: the move made for round r
    share = shares(tallies)
    assert torch.allclose(move.norm(dim=-1), torch.tensor(0.1), atol=1e-4)
    gained = share[1:-1] > share[:-2]  # round r - 1 against r - 2, for the move to round r >= 2
    last, this = move[:-1], move[1:]
    assert torch.allclose(this[gained], last[gained], atol=1e-5)
    turned = ~gained
    cosine = -(this * last).sum(-1)[turned] / 0.01
    assert (cosine >= -1e-3).all()
    angle = torch.arccos(cosine.clamp(-1, 1))
    standard_error = (math.pi / 4) / math.sqrt(3) / math.sqrt(len(angle))
    assert abs(angle.mean().item() - math.pi / 4) < 5 * standard_error, angle.mean()
    assert gained.float().mean() > 0.2 and turned.float().mean() > 0.2  # both branches well exercised


def test_a_new_party_stands_where_it_entered_and_its_hunter_forgets():
    """Laver & Sergenti (2011, ch. 6)'s new parties: one that has just entered stands where it entered, and a
    hunter's memory (its last heading) is cleared, so that its first move is a fresh random one."""
    seeds = list(range(8))
    game = world(n_candidates=5, dimensions=2, n_voters=200, exit_threshold=0.15, exit_after=2)
    batch = build_batch("election", [game] * len(seeds), learners("hunter"), seeds)
    entries = 0
    for _ in range(30):
        batch.round()
        entering = batch.engine._entered  # the parties that stand at their entry points next round
        entries += int(entering.sum())
        assert (batch.learners["candidate"].heading[entering] == 0).all()
        entrants = batch.engine._entrants[entering]
        assert torch.equal(batch.next_actions["candidate"][entering], entrants)
    assert entries > 0


# --------------------------------------------------------------------------------- stickers and predators


def test_a_sticker_never_moves_from_its_ideal_point():
    """Laver (2005): a Sticker "never changes position"."""
    seeds = list(range(4))
    game = {"n_candidates": 4, "dimensions": 2, "n_voters": 200, "platform_extent": 5.0}
    held = platforms(run("sticker", seeds, rounds=20, **game))
    ideals = ELECTION.build([world(**game)] * len(seeds), seeds).ideals
    assert torch.equal(held, ideals.expand_as(held))


def test_a_predator_moves_a_step_toward_the_largest_party():
    """Laver (2005): a Predator identifies the largest party and, unless that is itself, makes a unit move
    toward it; here a move that would pass the largest party stops on it. After the first election (at the
    ideal points) every party but the largest moves 0.1 toward it, or onto it from within 0.1."""
    seeds = list(range(32))
    game = {"n_candidates": 4, "dimensions": 2, "n_voters": 200, "platform_extent": 5.0}
    tallies = run("predator", seeds, rounds=2, **game)
    before, after = platforms(tallies)
    share = shares(tallies)[0]
    rows = torch.arange(len(seeds))
    prey = before[rows, share.argmax(-1)].unsqueeze(1)  # (worlds, 1, 2)
    toward = prey - before
    distance = toward.norm(dim=-1, keepdim=True)
    expected = torch.where(distance > 0.1, before + 0.1 * toward / distance.clamp(min=1e-12), prey)
    largest = (share == share.amax(-1, keepdim=True)).unsqueeze(-1)
    expected = torch.where(largest, before, expected)
    assert torch.allclose(after, expected, atol=1e-5)
    assert ((after - before).norm(dim=-1) > 0.09).sum() >= 2 * len(seeds)  # most parties did move


def test_on_a_grid_positions_snap_and_a_short_step_is_undone():
    """platform_space = "grid" puts each chosen position on the nearest of the 21 x 21 grid points (a
    0.2 grid on [-2, 2]): hunters with a step of 0.2 move from grid point to grid point, while a step of
    0.1, shorter than half the grid spacing on every heading but the axes, rounds back where it began.
    Seeds 0-7, 20 rounds: with step 0.2 parties moved in 98% of rounds; with 0.1 in 1 of 456 party-rounds
    (0 of 456 on seeds 100-107): a heading within about 0.1 degree of an axis, where float32 rounding of
    the half-step carries it over; the bound allows 2%."""
    seeds = list(range(8))
    game = {"platform_space": "grid", "n_candidates": 3, "dimensions": 2, "n_voters": 200}
    held = platforms(run("hunter", seeds, rounds=20, step=0.2, **game))
    assert torch.allclose(held / 0.2, (held / 0.2).round(), atol=1e-4)
    assert (held[1:] != held[:-1]).any(-1).float().mean() > 0.9
    stuck = platforms(run("hunter", seeds, rounds=20, step=0.1, **game))
    assert (stuck[1:] != stuck[:-1]).any(-1).float().mean() < 0.02


@pytest.mark.parametrize("kind", ["hunter", "predator"])
def test_same_seed_gives_the_same_numbers_alone_or_in_a_batch(kind):
    """Counter-based draws: a world's numbers depend on its seed only, not on its batch."""
    game = {"n_candidates": 4, "dimensions": 2, "n_voters": 150}
    batch = platforms(run(kind, [5, 6, 7], rounds=15, **game))
    alone = platforms(run(kind, [7], rounds=15, **game))
    assert torch.equal(batch[:, 2:], alone)
    assert not torch.equal(batch[:, :1], alone)


@pytest.mark.parametrize("kind", KINDS)
def test_a_laver_rule_is_refused_for_voters_and_fits_candidates(kind):
    """The rules read a party's own platform and share: a role that does not observe them is refused before
    anything runs, in one line."""
    params = world()
    config = resolve_learner({"kind": kind}, "learners.voter")
    fields, traits = ELECTION.role_fields(params), ELECTION.role_traits(params)
    with pytest.raises(ConfigError, match="voter role's observation has no own_platform") as refused:
        check_learner(config, "voter", params["n_voters"], 2, traits["voter"], fields=fields["voter"])
    assert "\n" not in str(refused.value)
    check_learner(config, "candidate", 2, 21, traits["candidate"], fields=fields["candidate"])
