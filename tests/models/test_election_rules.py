"""The election game's rules (ElectionRules, each round played as the loop plays it, through
models.simulate.play_round: the electoral body sets the rule and is paid): invariants over random play,
analytic facts (the median voter theorem, hand-counted elections, what media and money biases do and do not
change), determinism, batch invariance, and the institution's choice of rule."""

from __future__ import annotations

import random

import pytest
import torch

from models.game import RoundResult
from models.games.election import ELECTION_PARAMS, GAME, ElectionRules
from models.games.election.metrics import ELECTION_METRICS
from models.games.election.rules import ElectionTallies
from models.games.election.voting import RULES
from models.learners import resolve_learner
from models.metrics import compute
from models.simulate import play_round, simulate


def world(**values) -> dict:
    return ELECTION_PARAMS.resolve(values)


def grid_action(position: float | tuple[float, ...], grid: int = 21, extent: float = 2.0) -> int:
    """The candidate action whose platform is the grid point at `position` (one number per dimension)."""
    coordinates = position if isinstance(position, tuple) else (position,)
    index = 0
    for d, x in enumerate(coordinates):
        digit = round((x / extent + 1) / 2 * (grid - 1))
        assert 0 <= digit < grid and abs((digit / (grid - 1) * 2 - 1) * extent - x) < 1e-9, x
        index += digit * grid**d
    return index


def step(game: ElectionRules, actions: dict[str, torch.Tensor]) -> RoundResult:
    """One round as the loop plays it: the electoral body sets the rule (where it learns), the rules step,
    the electoral body is paid."""
    return play_round(GAME, game, actions)


def metric(name: str, tallies: ElectionTallies) -> torch.Tensor:
    (found,) = [m for m in ELECTION_METRICS if m.name == name]
    return found.fn(tallies)


def everyone_votes(game: ElectionRules) -> torch.Tensor:
    return torch.ones(game.n_worlds, game.n_voters, dtype=torch.long)


def no_institution(game: ElectionRules) -> torch.Tensor:
    return torch.zeros(game.n_worlds, 1, dtype=torch.long)


# ------------------------------------------------------------------------------------------ invariants


def random_worlds(rng: random.Random, rule: str, dimensions: int, n_worlds: int) -> list[dict]:
    """Worlds that share the shape and code-path parameters and differ in every per-world number."""
    shared = {
        "rule": rule,
        "dimensions": dimensions,
        "n_voters": rng.randrange(5, 60),
        "n_candidates": rng.choice([2, 3, 4, 5, 8]),
        "platform_grid": rng.choice([3, 5, 9]),
        "voter_distribution": rng.choice(["normal", "bimodal", "given"]),
        "utility": rng.choice(["linear", "quadratic"]),
        "compulsory_voting": rng.random() < 0.3,
        "strategic_voting": rng.random() < 0.4,
        "institution_learns": rng.random() < 0.4,
    }
    if shared["voter_distribution"] == "given":
        shared["voter_positions"] = [rng.gauss(0, 1) for _ in range(shared["n_voters"] * dimensions)]
    return [
        world(
            **shared,
            polarization=rng.uniform(0, 5),
            voting_cost=rng.choice([0.0, rng.uniform(0, 2)]),
            expressive_benefit=rng.uniform(0, 1),
            alienation=rng.uniform(0, 1),
            platform_extent=rng.uniform(0.1, 4),
            policy_weight=rng.uniform(0, 1),
            media_attention_bias=rng.choice([0.0, rng.uniform(0, 3)]),
            donor_bias=rng.choice([0.0, rng.uniform(0, 3)]),
            donor_position=rng.uniform(-2, 2),
            campaign_finance_cap=rng.choice([0.0, rng.uniform(0, 2), 1e6]),
        )
        for _ in range(n_worlds)
    ]


@pytest.mark.parametrize("dimensions", [1, 2])
@pytest.mark.parametrize("rule", RULES)
def test_invariants_hold_over_random_play_and_random_parameters(rule, dimensions):
    check_invariants(rule, dimensions, seed=f"{rule}/{dimensions}")


def check_invariants(rule: str, dimensions: int, seed: str) -> None:
    rng = random.Random(seed)
    worlds = random_worlds(rng, rule, dimensions, n_worlds=4)
    game = ElectionRules(worlds, seeds=[rng.randrange(2**40) for _ in worlds])
    p = worlds[0]
    generator = torch.Generator().manual_seed(rng.randrange(2**31))
    W, C = game.n_worlds, p["n_candidates"]
    for round_index in range(15):
        actions = {
            role: torch.randint(0, n, (W, agents), generator=generator)
            for role, (agents, n) in GAME.role_shapes(p).items()
        }
        if round_index % 3 == 0:
            actions["voter"][0] = 0  # world 0: everyone abstains (if allowed)
        result = step(game, actions)
        t = result.tallies
        assert ((t.winner >= 0) & (t.winner < C)).all()
        assert ((t.condorcet_winner >= -1) & (t.condorcet_winner < C)).all()
        assert ((t.turnout >= 0) & (t.turnout <= 1)).all()
        if p["compulsory_voting"]:
            assert (t.turnout == 1).all()
        else:
            expected_turnout = (actions["voter"] > 0).double().mean(-1)
            torch.testing.assert_close(t.turnout.double(), expected_turnout)
        assert ((t.vote_shares >= 0) & (t.vote_shares <= 1)).all()
        sums = t.vote_shares.sum(-1)
        voted = t.turnout > 0
        torch.testing.assert_close(sums[voted], torch.ones_like(sums[voted]))
        assert (sums[~voted] == 0).all()
        extent = torch.tensor([w["platform_extent"] for w in worlds]).view(-1, 1, 1)
        assert (t.platforms.abs() <= extent * (1 + 1e-6)).all()
        assert t.platforms.shape == (W, C, dimensions)
        assert (t.welfare <= 0).all() and (t.winner_distance_to_median >= 0).all()
        for role, (agents, _) in GAME.role_shapes(p).items():
            assert result.received(role).shape == (W, agents)
            assert torch.isfinite(result.received(role)).all(), role
        rows = torch.arange(W)
        torch.testing.assert_close(result.payoffs["institution"][:, 0], t.welfare[rows, t.winner])
        values = compute(ELECTION_METRICS, t)
        assert values.shape == (W, len(ELECTION_METRICS))
        for column, m in enumerate(ELECTION_METRICS):
            defined = values[:, column][~values[:, column].isnan()]
            assert torch.isfinite(defined).all(), m.name
            if m.bounded:
                assert ((defined >= 0) & (defined <= 1)).all(), m.name
        # Where a Condorcet winner exists, the condorcet_efficiency metric is defined, and only there.
        assert torch.equal(metric("condorcet_efficiency", t).isnan(), t.condorcet_winner < 0)


# --------------------------------------------------------------------------------------- analytic facts


@pytest.mark.parametrize("utility", ["linear", "quadratic"])
@pytest.mark.parametrize("rule", RULES)
def test_median_voter_theorem_two_candidates_sincere_full_turnout(rule, utility):
    """In 1-D with two candidates every rule elects the candidate closer to the median voter."""
    n_worlds = 120
    worlds = [
        world(
            n_voters=101, voter_distribution="bimodal", polarization=2.5 * i / n_worlds, rule=rule,
            utility=utility,
        )
        for i in range(n_worlds)
    ]  # fmt: skip
    game = ElectionRules(worlds, seeds=list(range(1000, 1000 + n_worlds)))
    generator = torch.Generator().manual_seed(7)
    left = torch.randint(0, 21, (n_worlds,), generator=generator)
    right = (left + torch.randint(1, 21, (n_worlds,), generator=generator)) % 21  # never the same
    result = step(
        game,
        {
            "voter": everyone_votes(game),
            "candidate": torch.stack([left, right], 1),
            "institution": no_institution(game),
        },
    )
    t = result.tallies
    median = game.voters[:, :, 0].median(1).values
    assert torch.equal(median, game.median[:, 0])
    distance = (t.platforms[:, :, 0] - median.unsqueeze(1)).abs()
    decisive = (distance[:, 0] - distance[:, 1]).abs() > 1e-4
    assert decisive.sum() > 100
    closer = distance.argmin(1)
    assert torch.equal(t.winner[decisive], closer[decisive])
    assert torch.equal(t.condorcet_winner[decisive], closer[decisive])
    assert (t.turnout == 1).all()
    torch.testing.assert_close(t.winner_distance_to_median, distance.min(1).values)


# A given electorate of 7 voters and 3 candidates at -1, 0 and 1.2. Favourites (nearest platform):
# A A B B B C C; each voter approves the platforms at most its mean distance away:
# -1.5 {A,B}  -0.8 {A,B}  -0.3 {A,B}  0.1 {B}  0.4 {B,C}  0.9 {B,C}  1.6 {C}.
HAND_VOTERS = [-1.5, -0.8, -0.3, 0.1, 0.4, 0.9, 1.6]
HAND_PLATFORMS = [-1.0, 0.0, 1.2]


def hand_game(rule: str, **values) -> ElectionRules:
    given = {"voter_distribution": "given", "voter_positions": HAND_VOTERS}
    return ElectionRules([world(n_voters=7, n_candidates=3, rule=rule, **given, **values)], seeds=[0])


def hand_actions(voters: list[int]) -> dict[str, torch.Tensor]:
    return {
        "voter": torch.tensor([voters]),
        "candidate": torch.tensor([[grid_action(x) for x in HAND_PLATFORMS]]),
        "institution": torch.zeros(1, 1, dtype=torch.long),
    }


@pytest.mark.parametrize("rule", RULES)
def test_hand_counted_election_with_a_given_electorate(rule):
    t = step(hand_game(rule), hand_actions([1] * 7)).tallies
    expected_shares = [3 / 12, 6 / 12, 3 / 12] if rule == "approval" else [2 / 7, 3 / 7, 2 / 7]
    assert t.vote_shares[0].tolist() == pytest.approx(expected_shares, abs=1e-12)
    assert t.winner.item() == 1  # B, the median voter's favourite, wins under every rule here
    assert t.condorcet_winner.item() == 1
    assert t.turnout.item() == 1
    # Mean policy utility (minus distance) were each candidate to win: -8.4/7, -5.6/7, -8.8/7.
    assert t.welfare[0].tolist() == pytest.approx([-1.2, -0.8, -8.8 / 7], abs=1e-6)
    assert t.winner_distance_to_median.item() == pytest.approx(0.1, abs=1e-6)  # median voter at 0.1


def test_hand_counted_abstention_and_payoffs():
    game = hand_game("plurality", voting_cost=0.1, expressive_benefit=0.3, alienation=0.5)
    result = step(game, hand_actions([0, 1, 1, 1, 1, 1, 0]))  # the two outermost voters abstain
    t = result.tallies
    assert t.vote_shares[0].tolist() == pytest.approx([1 / 5, 3 / 5, 1 / 5], abs=1e-12)
    assert t.turnout.item() == pytest.approx(5 / 7)
    assert t.winner.item() == 1
    # Voter payoff: -distance to B, and if it voted 0.3 - 0.5 x distance to its favourite - 0.1.
    expected = [-1.5, -0.7, -0.25, 0.05, -0.4, -0.85, -1.6]
    assert result.received("voter")[0].tolist() == pytest.approx(expected, abs=1e-6)
    # Office-seeking candidates get (won + vote share) / 2; the institution gets B's welfare.
    assert result.received("candidate")[0].tolist() == pytest.approx([0.1, 0.8, 0.1], abs=1e-6)
    assert result.payoffs["institution"].item() == pytest.approx(-0.8, abs=1e-6)


def test_media_attention_elects_an_extreme_candidate_but_welfare_stays_policy_utility():
    """Centre (0) against extreme (2): voters gain at most 2 by the centre, so attention 1.5 on a
    platform 2 from the centre of the electorate outweighs it for everyone; 0.6 does not."""
    biases = [0.0, 0.6, 1.5]
    worlds = [world(n_voters=1001, media_attention_bias=b) for b in biases]
    game = ElectionRules(worlds, seeds=[3, 3, 3])  # one electorate, three media
    t = step(
        game,
        {
            "voter": everyone_votes(game),
            "candidate": torch.tensor([[grid_action(0.0), grid_action(2.0)]] * 3),
            "institution": no_institution(game),
        },
    ).tallies
    assert t.winner.tolist() == [0, 0, 1]
    assert t.vote_shares[0, 1] < 0.25 and t.vote_shares[1, 1] < 0.5 and t.vote_shares[2, 1] == 1
    voters = game.voters[0, :, 0].double()
    welfare = metric("voter_welfare", t)
    assert welfare[0].item() == pytest.approx(-voters.abs().mean().item(), abs=1e-5)
    assert welfare[2].item() == pytest.approx(-(voters - 2).abs().mean().item(), abs=1e-5)
    assert welfare[2] < welfare[0]  # the biased electorate elected the platform that serves it worse
    assert metric("median_voter_distance", t)[2] > metric("median_voter_distance", t)[0]


def test_donor_money_capped_at_zero_changes_nothing():
    seeds = [11, 12, 13]
    params = {"n_voters": 41, "n_candidates": 4, "dimensions": 2, "platform_grid": 5, "rule": "borda"}
    games = {
        label: ElectionRules([world(**params, **values)] * 3, seeds=seeds)
        for label, values in {
            "none": {},
            "capped": {"donor_bias": 5.0, "campaign_finance_cap": 0.0},
            "free": {"donor_bias": 5.0, "donor_position": 1.0},
        }.items()
    }
    generator = torch.Generator().manual_seed(0)
    free_differs = False
    for _ in range(12):
        actions = {
            role: torch.randint(0, n, (3, agents), generator=generator)
            for role, (agents, n) in GAME.role_shapes(games["none"].p).items()
        }
        results = {label: step(game, actions) for label, game in games.items()}
        for field, value in vars(results["none"].tallies).items():
            assert torch.equal(value, getattr(results["capped"].tallies, field)), field
        assert set(results["none"].payoffs) == set(GAME.role_names)
        for role in GAME.role_names:
            assert torch.equal(results["none"].received(role), results["capped"].received(role)), role
        shares = {label: result.tallies.vote_shares for label, result in results.items()}
        free_differs |= not torch.equal(shares["none"], shares["free"])
    assert free_differs  # uncapped money does move votes, so the comparison above can fail


@pytest.mark.parametrize("rule", RULES)
def test_quadratic_utility_ranks_like_linear_in_one_dimension_but_welfare_differs(rule):
    games = {
        utility: ElectionRules(
            [world(n_voters=31, n_candidates=4, rule=rule, utility=utility)] * 5, seeds=[1, 2, 3, 4, 5]
        )
        for utility in ("linear", "quadratic")
    }
    generator = torch.Generator().manual_seed(1)
    approval_differs = False
    for _ in range(8):
        actions = {
            role: torch.randint(0, n, (5, agents), generator=generator)
            for role, (agents, n) in GAME.role_shapes(games["linear"].p).items()
        }
        linear, quadratic = (step(games[u], actions).tallies for u in ("linear", "quadratic"))
        assert torch.equal(linear.condorcet_winner, quadratic.condorcet_winner)
        assert torch.equal(linear.turnout, quadratic.turnout)
        distance = torch.cdist(games["linear"].voters, linear.platforms)
        torch.testing.assert_close(linear.welfare, -distance.mean(1))
        torch.testing.assert_close(quadratic.welfare, -(distance**2).mean(1))
        if rule == "approval":  # approval is cardinal: the mean-utility threshold moves with the utility
            approval_differs |= not torch.equal(linear.vote_shares, quadratic.vote_shares)
        else:
            assert torch.equal(linear.winner, quadratic.winner)
            assert torch.equal(linear.vote_shares, quadratic.vote_shares)
    if rule == "approval":
        assert approval_differs


# ------------------------------------------------------------------------- determinism, batch invariance

LEARNERS = {role: resolve_learner({}, f"learners.{role}") for role in ("voter", "candidate", "institution")}


def test_same_seeds_same_numbers_and_a_world_alone_matches_its_batch():
    shared = {"n_voters": 31, "n_candidates": 3, "dimensions": 2, "platform_grid": 7}
    shared["institution_learns"] = True  # worlds pick different rules within one batch
    worlds = [
        world(**shared, voting_cost=0.0, media_attention_bias=0.0),
        world(**shared, voting_cost=0.2, media_attention_bias=0.5, polarization=2.0),
        world(**shared, voting_cost=0.05, donor_bias=1.0, policy_weight=0.5),
    ]
    seeds = [10, 20, 30]
    first = simulate("election", worlds, LEARNERS, seeds, rounds=40)
    second = simulate("election", worlds, LEARNERS, seeds, rounds=40)
    assert first.shape == (40, 3, len(ELECTION_METRICS))
    torch.testing.assert_close(first, second, rtol=0, atol=0, equal_nan=True)
    for i in range(3):
        alone = simulate("election", worlds[i : i + 1], LEARNERS, seeds[i : i + 1], rounds=40)
        torch.testing.assert_close(first[:, i : i + 1], alone, rtol=0, atol=0, equal_nan=True)
    other_seed = simulate("election", worlds[1:2], LEARNERS, [21], rounds=40)
    assert not torch.equal(first[:, 1:2].nan_to_num(), other_seed.nan_to_num())


def test_engines_with_the_same_seed_draw_the_same_electorate_and_ties():
    params = world(n_voters=25, n_candidates=3, voter_distribution="bimodal", polarization=1.5)
    a, b, c = (ElectionRules([params], seeds=[s]) for s in (5, 5, 6))
    assert torch.equal(a.voters, b.voters) and torch.equal(a.ideals, b.ideals)
    assert not torch.equal(a.voters, c.voters)
    # Everyone abstains and all candidates share a platform: the tie-break alone decides, round by round.
    actions = {"voter": torch.zeros(1, 25, dtype=torch.long), "candidate": torch.full((1, 3), 10),
               "institution": torch.zeros(1, 1, dtype=torch.long)}  # fmt: skip
    winners_a = [step(a, actions).tallies.winner.item() for _ in range(30)]
    winners_b = [step(b, actions).tallies.winner.item() for _ in range(30)]
    assert winners_a == winners_b and len(set(winners_a)) == 3


# ------------------------------------------------------------------------------ the institution's rule

# 4 voters at -1.3 (A > B > C), 3 at 1.1 (C > B > A), 2 at 0.1 (B > C > A); A at -1.2, B at 0, C at 1.
# Plurality: A (4 first places). Runoff and instant runoff: C beats A 5-4 once B is out. Borda, Copeland
# and approval: B (Borda 8/11/8; B beats both head to head; approvals 4/5/3).
CENTRE_SQUEEZE = [-1.3] * 4 + [1.1] * 3 + [0.1] * 2
SQUEEZE_WINNERS = dict(plurality=0, runoff=2, instant_runoff=2, approval=1, borda=1, condorcet=1)


def squeeze_actions(n_worlds: int, institution: list[int]) -> dict[str, torch.Tensor]:
    return {
        "voter": torch.ones(n_worlds, 9, dtype=torch.long),
        "candidate": torch.tensor([[grid_action(-1.2), grid_action(0.0), grid_action(1.0)]] * n_worlds),
        "institution": torch.tensor(institution).view(-1, 1),
    }


def squeeze_world(**values) -> dict:
    given = {"voter_distribution": "given", "voter_positions": CENTRE_SQUEEZE}
    return world(n_voters=9, n_candidates=3, **given, **values)


def test_the_profile_separates_the_rules_when_the_rule_is_fixed():
    for rule, expected in SQUEEZE_WINNERS.items():
        game = ElectionRules([squeeze_world(rule=rule)] * 6, seeds=list(range(6)))
        t = step(game, squeeze_actions(6, list(range(6)))).tallies  # the institution's action is ignored
        assert t.winner.tolist() == [expected] * 6, rule
        assert t.condorcet_winner.tolist() == [1] * 6


def test_a_learning_institution_applies_the_rule_it_picks():
    game = ElectionRules([squeeze_world(institution_learns=True)] * 6, seeds=list(range(6)))
    for round_index in range(4):
        picks = [(w + round_index) % len(RULES) for w in range(6)]
        result = step(game, squeeze_actions(6, picks))
        t = result.tallies
        assert t.winner.tolist() == [SQUEEZE_WINNERS[RULES[pick]] for pick in picks]
        approval = picks.index(RULES.index("approval"))
        assert t.vote_shares[approval].tolist() == pytest.approx([4 / 12, 5 / 12, 3 / 12])
        plurality = picks.index(RULES.index("plurality"))
        assert t.vote_shares[plurality].tolist() == pytest.approx([4 / 9, 2 / 9, 3 / 9])
        # The institution is paid the voters' welfare, highest where B (the Condorcet winner) won.
        paid = result.payoffs["institution"][:, 0]
        best = [w for w, pick in enumerate(picks) if SQUEEZE_WINNERS[RULES[pick]] == 1]
        assert set(torch.nonzero(paid == paid.max()).flatten().tolist()) == set(best)
