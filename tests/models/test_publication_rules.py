"""The publication game's reference rules (rules.py) against its kernels (kernels.py), bit for bit, and the
reference's own record of the literature (hypothesis numbers, published replication tallies)."""

from __future__ import annotations

from typing import Any

import pytest
import torch

import models.games.publication.kernels
import models.random
from models.game import RoundResult
from models.games import get_game
from models.games.publication import PUBLICATION_PARAMS, PublicationRules
from models.games.publication.kernels import PublicationKernels
from models.games.publication.literature import Literature
from models.games.publication.study_kernels import PublicationStudyKernels
from models.learners import resolve_learner
from models.random import hashed_uniforms
from models.simulate import simulate

# The literature columns the kernels keep; a closed finding's action is theirs only while it is open (then
# its action bits hold the replication's record, which the published tallies decode).
KERNEL_COLUMNS = ("true", "author", "open", "published_positive", "published_negative")

# Three worlds that differ in every per-world parameter, so that a parameter read from the wrong world shows.
PER_WORLD = [
    {"base_rate": 0.1},
    {"base_rate": 0.5, "power": 0.6, "alpha": 0.2, "hacked_alpha": 0.9, "rigor_cost": 0.8,
     "novelty_reward": 2.0, "replication_reward": 0.7, "null_reward": 0.3,
     "failed_replication_penalty": 5.5},
    {"base_rate": 0.9, "power": 0.95, "alpha": 0.01, "hacked_alpha": 0.05, "rigor_cost": 0.0,
     "novelty_reward": 0.3, "replication_reward": 1.3, "null_reward": 0.1,
     "failed_replication_penalty": 0.25},
]  # fmt: skip


def batch(shared: dict[str, Any], per_world: list[dict[str, Any]] = PER_WORLD) -> list[dict[str, Any]]:
    return [PUBLICATION_PARAMS.resolve({**shared, **own}) for own in per_world]


def random_actions(
    generator: torch.Generator, n_worlds: int, n_researchers: int, rigor_levels: int, replicating: float
) -> torch.Tensor:
    """Uniform rigor levels, each researcher replicating with probability `replicating`."""
    level = torch.randint(rigor_levels, (n_worlds, n_researchers), generator=generator)
    replicate = torch.rand(n_worlds, n_researchers, generator=generator) < replicating
    return level + rigor_levels * replicate


def assert_same_round(rules: PublicationRules, kernels: PublicationKernels, a: RoundResult, b: RoundResult):
    """Every number a round gives, and the state it leaves, equal bit for bit (dtypes included)."""
    for name, value in vars(a.tallies).items():
        other = getattr(b.tallies, name)
        if isinstance(value, torch.Tensor):
            assert value.dtype == other.dtype, name
            torch.testing.assert_close(value, other, rtol=0, atol=0, equal_nan=True, msg=name)
        else:
            assert value == other, name
    assert torch.equal(a.payoffs["researcher"], b.payoffs["researcher"])
    credit, other = a.credit["researcher"], b.credit["researcher"]
    for name in ("world", "agent", "action", "amount"):  # the same entries in the same order
        assert torch.equal(getattr(credit, name), getattr(other, name)), name
    n_agents, n_actions = rules.roles["researcher"]
    assert torch.equal(credit.per_agent(n_agents), other.per_agent(n_agents))
    assert torch.equal(credit.dense(n_agents, n_actions), other.dense(n_agents, n_actions))
    assert torch.equal(a.observations["researcher"], b.observations["researcher"])
    assert torch.equal(rules.observe("researcher"), kernels.observe("researcher"))
    ours, theirs = rules.literature, kernels.literature
    for name in KERNEL_COLUMNS:
        assert torch.equal(getattr(ours, name), getattr(theirs, name)), name
    assert torch.equal(ours.action[ours.open], theirs.action[theirs.open])
    assert torch.equal(rules.findings_published, kernels.findings_published)
    assert rules.round_index == kernels.round_index


# Shared parameters; where publish_null_prob is not among them, each world has its own (0, 1 and 0.3).
CONFIGS = {
    "2 levels, 3 places, no nulls": {"rigor_levels": 2, "literature_size": 3, "publish_null_prob": 0.0},
    "3 levels, 2 slots, every null": {"n_researchers": 30, "rigor_levels": 3, "studies_per_round": 2,
                                      "publish_null_prob": 1.0},  # 30 places: see draws_on_the_thresholds
    "7 levels, 3 slots, 3 places": {"rigor_levels": 7, "studies_per_round": 3, "literature_size": 3},
    "2 researchers, 1 place": {"n_researchers": 2, "rigor_levels": 2, "literature_size": 1},
}  # fmt: skip


# publish_null_prob and the two it is the shorthand for, set together as resolving or an institution does
NULL_PROBABILITIES = ("publish_null_prob", "publish_novel_null_prob", "publish_replication_null_prob")
LATER_NULLS, LATER_PENALTIES = (0.5, 0.0, 1.0), (1.0, 7.0, 0.5)  # set by an "institution" at round 30


def draws_on_the_thresholds(worlds: list[dict[str, Any]], n_slots: int, places: int) -> torch.Tensor:
    """Uniforms on the streams' 24-bit grid within two steps of every value a round compares a uniform
    with (completion, truth, positive and published thresholds at every rigor level, and the steps of a
    drawn place or first slot): where two ways of computing a threshold in float32 differ in the last bit,
    some of these draws fall on either side, which hashed draws do about once in 2^24. Half the values are
    next to a threshold, half next to a step (with 24 or more places filled, float32 rounds some u * filled
    up to a whole number: a float64 product would draw another place)."""
    thresholds = set()
    for world in worlds:
        levels = world["rigor_levels"]
        thresholds.add(world["base_rate"])
        for r in (level / (levels - 1) for level in range(levels)):
            alpha = world["hacked_alpha"] + (world["alpha"] - world["hacked_alpha"]) * r
            thresholds |= {1 - world["rigor_cost"] * r, alpha}
            for p in (world["power"], alpha):
                thresholds |= {p + null * (1 - p) for null in (world["publish_null_prob"], *LATER_NULLS)}
    steps = {k / n for n in (*range(1, places + 1), n_slots) for k in range(n + 1)}

    def near(values: set[float]) -> torch.Tensor:
        grid = {min(max(round(value * 2**24) + d, 0), 2**24 - 1) for value in values for d in range(-2, 3)}
        return torch.tensor(sorted(grid), dtype=torch.float64).div(2**24).float()

    near_thresholds, near_steps = near(thresholds), near(steps)
    return torch.cat([near_thresholds.repeat(len(near_steps) // len(near_thresholds) + 1), near_steps])


@pytest.mark.parametrize("draws", ["hashed", "on the thresholds"])
@pytest.mark.parametrize("shared", CONFIGS.values(), ids=CONFIGS.keys())
def test_rules_give_the_kernels_numbers_bit_for_bit(shared, draws, monkeypatch):
    """Both engines stepped with the same actions for many rounds, from all-novel rounds that fill the
    literature to all-replicating ones whose claims compete, and with per-world parameters set between
    rounds as an institution sets them: every tally, payoff, credit entry, observation and literature column
    the kernels keep is equal. With draws "on the thresholds", every uniform of both engines (the rules'
    through RandomStreams, the kernels' hashed in place) is moved onto a value next to a threshold, so that
    float32 arithmetic done in another order than the kernels' shows."""
    worlds = batch({"n_researchers": 13, **shared})
    if "publish_null_prob" not in shared:  # every world its own publication bias
        for world, null in zip(worlds, (0.0, 1.0, 0.3), strict=True):
            world.update(dict.fromkeys(NULL_PROBABILITIES, null))
    seeds = [11, 12, 13]
    rules, kernels = PublicationRules(worlds, seeds), PublicationKernels(worlds, seeds)
    if draws == "on the thresholds":
        table = draws_on_the_thresholds(worlds, rules.n_researchers * rules.slots, rules.literature_size)

        def on_the_thresholds(counters: torch.Tensor) -> torch.Tensor:
            return table[(hashed_uniforms(counters) * len(table)).long()]

        monkeypatch.setattr(models.random, "hashed_uniforms", on_the_thresholds)
        monkeypatch.setattr(models.games.publication.kernels, "hashed_uniforms", on_the_thresholds)
    generator = torch.Generator().manual_seed(len(CONFIGS) + sum(map(ord, str(shared))))
    refuted = crowded = 0
    for t in range(48):
        if t == 30:  # an institution's move: new per-world parameters, read from the next round on
            for engine in (rules, kernels):
                for name in NULL_PROBABILITIES:
                    engine.p[name] = torch.tensor(LATER_NULLS).view(-1, 1, 1)
                engine.p["failed_replication_penalty"] = torch.tensor(LATER_PENALTIES).view(-1, 1, 1)
        replicating = (0.0, 0.3, 0.7, 0.95, 1.0)[t % 5]
        actions = random_actions(generator, 3, rules.n_researchers, rules.rigor_levels, replicating)
        a, b = rules.step({"researcher": actions}), kernels.step({"researcher": actions.int()})
        assert_same_round(rules, kernels, a, b)
        refuted += len(a.credit["researcher"].world)
        crowded += int((a.tallies.published_novel_positives > rules.literature_size).sum())
    assert refuted > 0, "no failed replication was published: the credit went untested"
    if rules.literature_size == 3:
        assert crowded > 0, "no round had more new findings than places: the ring's skip went untested"


# Every study gets done (no rigor cost) and every result is published; at rigor 0 every study comes out
# positive (hacked alpha 1, power 1), at rigor 1 exactly the true ones (alpha 0): a round's outcomes are
# fixed by the actions, up to which hypotheses are true and which findings the replicators draw.
CERTAIN = {"rigor_levels": 2, "rigor_cost": 0.0, "power": 1.0, "alpha": 0.0, "hacked_alpha": 1.0,
           "base_rate": 0.5, "publish_null_prob": 1.0}  # fmt: skip
NOVEL_SLOPPY, REPLICATE_RIGOROUS = 0, 3


def test_new_findings_are_numbered_in_the_rounds_order_and_replications_are_recorded_on_them():
    """A hand-checkable history in one world of 4 researchers and 4 places."""
    rules = PublicationRules(batch({"n_researchers": 4, **CERTAIN}, [{}]), [5])
    novel = torch.full((1, 4), NOVEL_SLOPPY)
    rules.step({"researcher": novel})
    literature = rules.literature
    # 4 new findings, numbers 0-3 at places 0-3, all open, unreplicated, in this round's order: a
    # rotation of the researchers.
    assert rules.findings_published.tolist() == [4]
    assert literature.hypothesis.tolist() == [[0, 1, 2, 3]]
    assert literature.open.all() and literature.action.eq(NOVEL_SLOPPY).all()
    first = literature.author[0, 0].item()
    assert literature.author.tolist() == [[(first + h) % 4 for h in range(4)]]
    # The round's first slot: 4 - (u * 4 rounded down), for this round's uniform u of the slot_order stream.
    assert first == (4 - int(rules.rng.uniform(0, "slot_order", (1,)).item() * 4)) % 4
    assert literature.published_positive.eq(0).all() and literature.published_negative.eq(0).all()

    # Everyone replicates at full rigor: a true finding is confirmed, a false one refuted, every result
    # published; findings drawn by several go to one.
    result = rules.step({"researcher": torch.full((1, 4), REPLICATE_RIGOROUS)})
    after, tallies, credit = rules.literature, result.tallies, result.credit["researcher"]
    replicated = (after.published_positive + after.published_negative).bool()
    assert tallies.replication_studies.item() == replicated.sum().item() >= 1
    assert torch.equal(after.published_positive.bool(), replicated & literature.true)
    assert torch.equal(after.published_negative.bool(), replicated & ~literature.true)
    assert tallies.replication_successes.item() == after.published_positive.sum().item()
    assert not (after.open & replicated).any()  # replicated findings are closed
    assert torch.equal(after.hypothesis, literature.hypothesis)
    assert torch.equal(after.author, literature.author)
    # Each refutation charges the refuted finding's author for the action that produced it.
    refuted = after.published_negative[0].bool()
    assert sorted(credit.agent.tolist()) == sorted(literature.author[0, refuted].tolist())
    assert credit.action.eq(NOVEL_SLOPPY).all() and credit.amount.eq(-3.0).all()
    assert rules.findings_published.tolist() == [4]  # replications add no findings

    # Four more new findings, 4-7, take the places of 0-3: open and unreplicated again.
    rules.step({"researcher": novel})
    again = rules.literature
    assert again.hypothesis.tolist() == [[4, 5, 6, 7]] and again.open.all()
    assert again.published_positive.eq(0).all() and again.published_negative.eq(0).all()
    assert rules.findings_published.tolist() == [8]


def test_a_round_with_more_new_findings_than_places_keeps_its_last_ones():
    rules = PublicationRules(batch({"n_researchers": 4, "literature_size": 3, **CERTAIN}, [{}]), [6])
    rules.step({"researcher": torch.full((1, 4), NOVEL_SLOPPY)})
    # Findings 0-3, of which 1-3 are kept, finding h at place h % 3; the first of the round is lost.
    assert rules.literature.hypothesis.tolist() == [[3, 1, 2]]
    assert rules.findings_published.tolist() == [4]
    author = rules.literature.author[0].tolist()
    assert [(author[h % 3] - author[1]) % 4 for h in (1, 2, 3)] == [0, 1, 2]  # in this round's order


def test_the_literature_record_adds_up_over_a_long_random_history():
    """Invariants over many rounds of random actions, in worlds whose literature never wraps (every
    published refutation is still on record) and in worlds whose literature wraps every round."""
    for size, rounds in ((400, 40), (3, 40)):
        worlds = batch({"n_researchers": 10, "studies_per_round": 2, "literature_size": size})
        rules = PublicationRules(worlds, [1, 2, 3])
        generator = torch.Generator().manual_seed(size)
        refutations = torch.zeros(3, dtype=torch.int64)
        confirmations = torch.zeros(3, dtype=torch.int64)
        for t in range(rounds):
            # A copy: the rules update the literature's columns in place
            columns = rules.literature.columns()
            before = Literature(**{name: column.clone() for name, column in columns.items()})
            actions = random_actions(generator, 3, 10, rules.rigor_levels, (0.2, 0.6, 0.9)[t % 3])
            result = rules.step({"researcher": actions})
            literature, credit = rules.literature, result.credit["researcher"]
            refutations += torch.bincount(credit.world, minlength=3)
            confirmations += result.tallies.replication_successes  # every positive result is published
            published = rules.findings_published.view(-1, 1)
            filled = literature.hypothesis >= 0
            # Kept findings: the last `size` numbers, finding h at place h % size, the rest empty.
            places = torch.arange(size).expand(3, -1)
            assert torch.equal(filled, places < published)
            assert torch.equal(literature.hypothesis % size, torch.where(filled, places, size - 1))
            assert (literature.hypothesis < published).all()
            assert (literature.hypothesis[filled] >= (published - size).expand(-1, size)[filled]).all()
            # A finding is replicated at most once, and only a closed one has been.
            record = literature.published_positive + literature.published_negative
            assert record.le(1).all() and not (record.bool() & literature.open).any()
            if size == 400:  # nothing overwritten: the record holds every published replication so far
                assert torch.equal(literature.published_negative.sum(1), refutations.int())
                assert torch.equal(literature.published_positive.sum(1), confirmations.int())
                # This round's refutations are the newly refuted findings: their authors and actions.
                newly = literature.published_negative > before.published_negative
                world = torch.arange(3).view(-1, 1).expand(-1, size)
                refuted = torch.stack([world[newly], before.author[newly], before.action[newly]], 1)
                charged = torch.stack([credit.world, credit.agent, credit.action], 1)
                assert sorted(charged.tolist()) == sorted(refuted.tolist())
        assert refutations.sum() > 0
        assert bool((rules.findings_published > size).any()) == (size == 3)  # only the small ring wrapped


def test_simulate_gives_the_same_metrics_on_the_rules_as_on_the_kernels(monkeypatch):
    """A learning run: the learners see the same payoffs, credit and observations on either engine, so
    they learn the same and every recorded metric is equal."""
    worlds = batch({"n_researchers": 20, "studies_per_round": 2, "literature_size": 5})
    learners = {"researcher": resolve_learner({}, "learners.researcher")}
    spec = get_game("publication")
    assert spec.engine_for(worlds[0]) is PublicationKernels
    on_kernels = simulate("publication", worlds, learners, [7, 8, 9], rounds=60)
    for engine in (PublicationKernels, PublicationStudyKernels):
        monkeypatch.setattr(engine, "supports", classmethod(lambda cls, params: False))
    assert spec.engine_for(worlds[0]) is PublicationRules
    on_rules = simulate("publication", worlds, learners, [7, 8, 9], rounds=60)
    assert on_rules.shape == (60, 3, len(spec.metrics))
    torch.testing.assert_close(on_rules, on_kernels, rtol=0, atol=0, equal_nan=True)
