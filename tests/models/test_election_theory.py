"""Classic results of spatial voting theory, emerging (or not) from learning agents in the election engine.

Each test runs a few batched simulations (many worlds per call, one call per shape or rule) and compares
means over the last quarter of the rounds across worlds, with margins set from runs on several other seed
sets (see each test). Same seeds give the same numbers, so these tests are deterministic; what the margins
guard against is a real effect that only one lucky set of seeds shows.

Candidates learn with optimistic initial values (1.0, the most an office-seeker can earn in a round), so
every platform is tried before they settle: with zeros, office-seekers lock onto the first platform that
wins a few votes (two-candidate median distance 0.10-0.17 instead of 0.05-0.07, one world at 0.45).
"""

from __future__ import annotations

from statistics import NormalDist
from typing import Any

import pytest
import torch

from models.games import GAMES
from models.learners import resolve_learner
from models.simulate import simulate

METRICS = [metric.name for metric in GAMES["election"].metrics]
WORLDS = 16
GRID_STEP = 0.2  # the default grid: 21 platforms on [-2, 2]

CANDIDATES = {"exploration": "epsilon_greedy", "epsilon": 0.1, "learning_rate": 0.1, "initial_value": 1.0}


def world(**values: Any) -> dict[str, Any]:
    return GAMES["election"].params.resolve(values)


def steady_state(
    worlds: list[dict[str, Any]],
    seeds: list[int],
    rounds: int,
    voter: dict[str, Any] | None = None,
    candidate: dict[str, Any] | None = None,
) -> dict[str, torch.Tensor]:
    """Each metric's mean over the last quarter of the rounds, one number per world."""
    learners = {
        "voter": resolve_learner(voter or {}, "learners.voter"),
        "candidate": resolve_learner(candidate or CANDIDATES, "learners.candidate"),
        "institution": resolve_learner({}, "learners.institution"),
    }
    series = simulate("election", worlds, learners, seeds=seeds, rounds=rounds)
    tail = series[-max(1, rounds // 4) :].nanmean(0)
    return {name: tail[:, i] for i, name in enumerate(METRICS)}


def spread(values: torch.Tensor) -> str:
    return f"mean {values.mean():.3f} sd {values.std():.3f} range [{values.min():.3f}, {values.max():.3f}]"


# --------------------------------------------------------------- two candidates: Downs, and policy motives


def opposite_ideal_seeds(n: int) -> list[int]:
    """The first n seeds whose two candidates' ideal points lie on opposite sides of the median voter, each
    at least 0.5 from it: Wittman's (1983) premise for divergence. Office-seekers ignore their ideals, so
    for them these are ordinary seeds."""
    candidates = list(range(10 * n))
    game = GAMES["election"].build([world(compulsory_voting=True)] * len(candidates), candidates)
    side = game.ideals[:, :, 0] - game.median[:, :1]  # (worlds, 2)
    fits = (side[:, 0] * side[:, 1] < 0) & (side.abs().min(-1).values > 0.5)
    chosen = [seed for seed, ok in zip(candidates, fits.tolist(), strict=True) if ok][:n]
    assert len(chosen) == n
    return chosen


@pytest.fixture(scope="module")
def two_candidates() -> dict[str, dict[str, torch.Tensor]]:
    """Two candidates, plurality, compulsory voting, 101 normal voters in 1-D, 1000 rounds: office-only
    (policy_weight 0) and policy-motivated (0.8) worlds with the same seeds, in one batch."""
    seeds = opposite_ideal_seeds(WORLDS)
    weights = (0.0, 0.8)
    worlds = [world(compulsory_voting=True, policy_weight=w) for w in weights for _ in seeds]
    result = steady_state(worlds, seeds * len(weights), rounds=1000)
    return {
        f"policy_weight={w}": {name: values[i * WORLDS : (i + 1) * WORLDS] for name, values in result.items()}
        for i, w in enumerate(weights)
    }


def test_two_office_seekers_converge_on_the_median_voter(two_candidates):
    """Hotelling (1929), Downs (1957), Black (1948): with single-peaked (1-D) preferences, full turnout and
    plurality between two office-seeking candidates, both converge on the median voter.

    Bounds, in grid steps of 0.2: the median of 101 voters lies within half a step (0.1) of the nearest
    platform, and a candidate explores a uniformly random platform 10% of the time, which rarely wins but
    keeps the two a step or so apart on average. So: the winning platform is within half a step of the median
    on average over worlds and within one step in every world; the platforms are within one step of their
    centroid on average. Random platforms would give a median distance near 1 (five steps).
    Observed on four seed sets (16 worlds each, chosen as in `opposite_ideal_seeds` from 0, 1000, 2000 and
    3000 up): median distance mean 0.05-0.065, worst world 0.12; polarization mean 0.11-0.15.
    """
    office = two_candidates["policy_weight=0.0"]
    distance, polarization = office["median_voter_distance"], office["platform_polarization"]
    assert distance.mean() < GRID_STEP / 2, spread(distance)
    assert distance.max() < GRID_STEP, spread(distance)
    assert polarization.mean() < GRID_STEP, spread(polarization)
    assert (office["turnout"] == 1).all()


def test_policy_motives_pull_the_candidates_apart(two_candidates):
    """Wittman (1983), Calvert (1985): candidates who care about the policy enacted, with ideal points on
    opposite sides of the median, diverge toward their ideals when the outcome is uncertain; office-seekers
    do not. Here the uncertainty is the rival's exploration (10% random platforms) and coin-flip ties: a
    platform a step toward one's ideal still wins when the rival strays, and then enacts a better policy.

    Same seeds, same electorates and ideals, policy_weight 0.8 against 0. Observed on the four seed sets:
    paired increase in polarization mean 0.15-0.23 (sd 0.06-0.07), positive in all 16 worlds of every set;
    the margins below are about half that. With zero initial values the office-only baseline is noisy and
    the paired increase was -0.03 to 0.09 on three sets (see the module docstring).
    """
    office, policy = two_candidates["policy_weight=0.0"], two_candidates["policy_weight=0.8"]
    increase = policy["platform_polarization"] - office["platform_polarization"]
    assert increase.mean() > 0.08, spread(increase)
    assert (increase > 0).sum() >= WORLDS - 2, spread(increase)


def test_a_third_candidate_breaks_convergence(two_candidates):
    """Eaton & Lipsey (1975), Cox (1990): with three candidates under plurality there is no convergent
    equilibrium (the two flanking a centrist squeeze it out, and it leapfrogs), so platforms stay dispersed.

    Same electorates as the two-candidate test. Observed on the four seed sets: polarization mean 0.48-0.51
    (every world above 0.41) against 0.11-0.15 for two candidates (never above 0.25); the winner's distance
    from the median 0.36-0.39 against 0.05-0.065."""
    seeds = opposite_ideal_seeds(WORLDS)
    three = steady_state([world(compulsory_voting=True, n_candidates=3)] * WORLDS, seeds, rounds=1000)
    two = two_candidates["policy_weight=0.0"]["platform_polarization"]
    polarization = three["platform_polarization"]
    assert polarization.mean() > two.mean() + 0.25, (spread(polarization), spread(two))
    assert polarization.min() > two.max(), (spread(polarization), spread(two))
    distance, two_distance = (
        three["median_voter_distance"],
        two_candidates["policy_weight=0.0"]["median_voter_distance"],
    )
    assert distance.mean() > two_distance.mean() + GRID_STEP, (spread(distance), spread(two_distance))


# ------------------------------------------------------------------------------- abstention from alienation

ALIENATION = {"expressive_benefit": 1.0, "voting_cost": 0.2}
VOTERS = {"exploration": "epsilon_greedy", "epsilon": 0.05, "learning_rate": 0.1}
BIMODAL_WORLDS = 24


@pytest.fixture(scope="module")
def bimodal() -> dict[str, dict[str, torch.Tensor]]:
    """A bimodal electorate (modes at -1.5 and +1.5 standard deviations), two office-seekers, 1000 rounds:
    compulsory voting; voters who learn whether to vote, alienated (alienation 1: a voter gains from
    voting only within 0.8 of the nearest platform); and the same voters not alienated (alienation 0: the
    expressive benefit 1 beats the cost 0.2 everywhere, so nearly all vote)."""
    n = BIMODAL_WORLDS
    seeds = list(range(n))
    electorate = {"voter_distribution": "bimodal", "polarization": 1.5}
    compulsory = steady_state([world(**electorate, compulsory_voting=True)] * n, seeds, rounds=1000)
    worlds = [world(**electorate, **ALIENATION, alienation=a) for a in (1.0, 0.0)]
    voluntary = steady_state([w for w in worlds for _ in seeds], seeds * 2, rounds=1000, voter=VOTERS)
    split = {name: (values[:n], values[n:]) for name, values in voluntary.items()}
    return {
        "compulsory": compulsory,
        "alienated": {name: pair[0] for name, pair in split.items()},
        "not alienated": {name: pair[1] for name, pair in split.items()},
    }


def test_abstention_from_alienation_pulls_the_winner_off_the_median(bimodal):
    """Hinich & Ordeshook (1969), Downs (1957, ch. 8): when voters far from every platform abstain, the
    median voter of a bimodal electorate (who sits in the empty middle) loses its pull: the candidates
    follow the voters who turn out, toward a mode.

    Observed on seeds 0-23, 1000-1023, 2000-2023 and 3000-3023: alienated turnout 0.28-0.29; winner's
    distance from the median mean 0.39-0.61 (sd 0.35-0.49; some worlds stay at the median, others end at a
    mode), against 0.06-0.07 with compulsory voting and 0.06-0.08 for the same learning voters without
    alienation (turnout 0.975), which shows the shift is alienation's, not voluntary voting's or the voters'
    learning."""
    alienated, control, compulsory = bimodal["alienated"], bimodal["not alienated"], bimodal["compulsory"]
    assert alienated["turnout"].mean() < 0.5, spread(alienated["turnout"])
    assert control["turnout"].mean() > 0.9, spread(control["turnout"])
    distance = alienated["median_voter_distance"]
    assert compulsory["median_voter_distance"].mean() < GRID_STEP / 2
    assert control["median_voter_distance"].mean() < GRID_STEP / 2
    assert distance.mean() > compulsory["median_voter_distance"].mean() + 0.2, spread(distance)
    assert distance.mean() > control["median_voter_distance"].mean() + 0.2, spread(distance)


@pytest.mark.xfail(
    strict=True,
    reason="learning voters decide to vote before they see the platforms, so turnout lags the candidates: "
    "a candidate exploring toward an alienated mode finds those voters still abstaining, and both "
    "candidates converge on each other near the voters who do turn out (see the docstring)",
)
def test_abstention_from_alienation_disperses_platforms(bimodal):
    """Downs (1957, ch. 8), Adams & Merrill (2003): in a bimodal electorate with abstention from
    alienation, the candidates move apart toward the two modes. Expected: polarization clearly above
    compulsory voting's in the same electorates.

    Not what the engine gives: polarization 0.14-0.15 alienated against 0.16-0.19 compulsory (the four
    seed sets above), lower in 16-21 worlds of 24. Two reasons. Voters learn turnout from past rounds, so an
    exploring candidate is scored against the old turnout. And with deterministic (not probabilistic)
    voting the only stable pair is both candidates at the larger mode; even when voters vote exactly when it
    pays them given the platforms offered (a loop outside the engine), polarization only rises to 0.32-0.37
    on average (from 0.17-0.20), with most worlds converged at a mode and a few split between the modes."""
    alienated, compulsory = bimodal["alienated"], bimodal["compulsory"]
    polarization = alienated["platform_polarization"]
    assert polarization.mean() > compulsory["platform_polarization"].mean() + 0.05, spread(polarization)


# ------------------------------------------------------------------------------------ Duverger's tendency


# 15 voters at the normal quantiles (i + 1/2) / 15, the same electorate in every world. Platforms -0.6, 0.2
# and 1.0 split it 6 / 5 / 4 sincerely (effective number 2.92), and the right candidate's 4 supporters prefer
# the centre candidate to the left one: deserting to the centre makes it win 9 to 6 (effective number 1.92),
# the two-party outcome Duverger predicts under plurality. Under a runoff the centre candidate wins the
# second round anyway, so nobody needs to desert.
DUVERGER_VOTERS = [NormalDist().inv_cdf((i + 0.5) / 15) for i in range(15)]
DUVERGER_PLATFORMS = [7, 11, 15]  # grid indices of -0.6, 0.2 and 1.0 on the default grid
# Logit-like (softmax) voters: with epsilon-greedy, an action's value is refreshed only when it is explored,
# so a voter compares its current ballot with stale values of the others and follows the noise of the
# others' votes; softmax keeps every value fresh, so the small edge of a ballot that is pivotal now and then
# shows. Temperature 0.05 (payoffs are distances, about 1) and learning rate 0.03 were tuned on a grid
# (temperature 0.01-0.2, learning rate 0.01-0.3, epsilon-greedy too; see the test's docstring).
STRATEGIC_VOTERS = {"exploration": "softmax", "temperature": 0.05, "learning_rate": 0.03}
DUVERGER_ROUNDS = 1500
DUVERGER_WORLDS = 24


@pytest.fixture(scope="module")
def duverger() -> dict[str, dict[str, torch.Tensor]]:
    """Effective number of parties per world: sincere and strategic voting under each rule."""
    seeds = list(range(DUVERGER_WORLDS))
    sincere = {"kind": "fixed", "probabilities": [1.0, 0.0, 0.0, 0.0]}  # abstaining is a sincere ballot here
    outcome: dict[str, dict[str, torch.Tensor]] = {}
    candidates = {"kind": "fixed_actions", "actions": DUVERGER_PLATFORMS}
    for rule in ("plurality", "runoff", "approval"):
        game = world(
            rule=rule, n_voters=15, n_candidates=3, voter_distribution="given",
            voter_positions=DUVERGER_VOTERS, compulsory_voting=True, strategic_voting=True,
        )  # fmt: skip
        outcome[rule] = {
            voting: steady_state([game] * DUVERGER_WORLDS, seeds, rounds, voter, candidates)[
                "effective_number_of_parties"
            ]
            for voting, voter, rounds in (
                ("sincere", sincere, 1),
                ("strategic", STRATEGIC_VOTERS, DUVERGER_ROUNDS),
            )
        }
    return outcome


def test_strategic_voters_concentrate_on_two_candidates_under_plurality(duverger):
    """Duverger (1954), Riker (1982), Cox (1997): under plurality, supporters of a candidate who cannot win
    desert to the lesser evil among the two front-runners, so the vote concentrates on two candidates.

    Three candidates held to fixed platforms, 15 compulsory voters who learn whom to put first. Observed
    (24 worlds; seeds 0-23, 1000-1023, 2000-2023, 3000-3023): sincere effective number 2.92; strategic
    2.12-2.18 (sd 0.2-0.25, worlds from 1.83 to 2.66), most worlds near the two-party outcome (1.92).
    Ballots drawn at random would give about 2.68, so this is coordination, not noise. With epsilon-greedy
    voters plurality fell to 2.15-2.4, but runoff fell about as far (gap -0.02 to 0.29 over settings)."""
    plurality = duverger["plurality"]
    assert (plurality["sincere"] - 2.92).abs().max() < 0.01  # the electorate is what the comment says
    assert plurality["strategic"].mean() < 2.35, spread(plurality["strategic"])
    assert plurality["strategic"].mean() < plurality["sincere"].mean() - 0.5, spread(plurality["strategic"])


def test_runoff_and_approval_concentrate_support_less_than_plurality(duverger):
    """Duverger's hypothesis (1954), Cox (1997, the M + 1 rule): a runoff leaves room for a third
    candidate in the first round, and approval voting lets a voter support a favourite and a front-runner
    at once, so strategic voters concentrate their support less than under plurality.

    The same voters and learners as under plurality. Observed (same seed sets): runoff 2.56-2.57 (sd
    0.04-0.09) against plurality 2.12-2.18, a gap of 0.39-0.44; approval 2.72-2.74 against its sincere
    2.68. Approval shares are shares of all approvals, so approval's numbers compare with plurality's only
    loosely; what matters is that strategic approval ballots do not concentrate at all, and that the drop
    from sincere to strategic (plurality 0.74-0.80, runoff 0.35-0.37, approval -0.06 to -0.04) is largest
    under plurality."""
    plurality = duverger["plurality"]["strategic"]
    runoff, approval = duverger["runoff"], duverger["approval"]
    assert runoff["strategic"].mean() > plurality.mean() + 0.25, (
        spread(runoff["strategic"]),
        spread(plurality),
    )
    assert approval["strategic"].mean() > plurality.mean() + 0.35, (spread(approval["strategic"]),)
    assert approval["strategic"].mean() > approval["sincere"].mean() - 0.1, spread(approval["strategic"])
    # The drop from sincere to strategic is largest under plurality.
    drop = {rule: (o["sincere"] - o["strategic"]).mean() for rule, o in duverger.items()}
    assert drop["plurality"] > drop["runoff"] + 0.25 and drop["plurality"] > drop["approval"] + 0.5, drop
