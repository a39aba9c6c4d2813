"""Labs that evolve (models/learners/evolution.py): selection on pay-off and mutation of heritable traits.

The learner is driven directly with chosen payoffs, so that what each generation must do is known exactly:
under death_birth (Smaldino & McElreath 2016) with the sample as large as the population, the oldest dies
and the best paid of the others reproduces; under wright_fisher each offspring's parent is drawn in
proportion to accumulated pay-off. Statistical tolerances are Monte Carlo errors: 5 standard errors of a
mean (or of a sample standard deviation, sd / sqrt(2 n)) over many worlds, so a correct implementation
fails about once in 1.7 million runs, and each seed is fixed anyway.
"""

from __future__ import annotations

import json
import math

import pytest
import torch

import studies.cli
from models.game import Credit, Trait
from models.games.publication import PUBLICATION_PARAMS
from models.learners import Experience, Observation, make_learner, resolve_learner
from models.random import RandomStreams, world_keys
from models.simulate import simulate

EFFORT = Trait("effort", "e", 1.0, 100.0, 50.0, 1.5)
POWER = Trait("power", "W", 1e-3, 1 - 1e-3, 0.5, 0.01)
QRP = Trait("qrp", "u", 0.0, 1.0, 0.2, 0.01)
TRAITS = (EFFORT, POWER, QRP)


def evolvers(worlds: int, agents: int, traits: tuple[Trait, ...] = TRAITS, **params):
    """An evolution learner for one role over `worlds` worlds of `agents` labs, each world with `traits`."""
    config = resolve_learner({"kind": "evolution", **params}, "learners.researcher")
    rng = RandomStreams(world_keys(list(range(worlds))))
    return make_learner(config, "researcher", worlds, agents, 1, rng, traits=[traits] * worlds)


def feed(learner, t: int, payoffs: torch.Tensor, credit: Credit | None = None) -> None:
    """Round t as the learner gets it: its traits played, these payoffs, this credit."""
    actions = learner.act(Observation(t))
    learner.learn(Experience(t, actions, payoffs.float(), credit, Observation(t + 1)))


def the_newborn(learner) -> torch.Tensor:
    """Per world, the one agent born in the last generation (age 0), checking there is exactly one."""
    newborn = learner.age == 0
    assert (newborn.sum(1) == 1).all()
    return newborn.int().argmax(1)


def test_death_birth_the_oldest_dies_and_the_best_paid_of_the_others_reproduces():
    """With d = the whole population, a generation is deterministic but for ties: the oldest dies (at
    first everybody is equally old, and the tie must be broken at random, not always for agent 0), the
    best paid of the others (even when the dead one was paid best) is the parent, and its offspring takes
    the dead one's place with its traits (mutation_rate 0), age 0, nothing earned and its birth round.
    Nobody else changes but for one more round of age and this round's pay. After N - 1 generations every
    age differs, so from then on the one who dies is exactly the oldest."""
    worlds, agents = 64, 5
    learner = evolvers(worlds, agents, sample_size=agents, mutation_rate=0.0)
    # Distinct traits per agent, so that the offspring's traits tell which agent was its parent.
    index = torch.arange(agents, dtype=torch.float32)
    learner.values[:, :, 0] = 1 + 10 * index
    learner.values[:, :, 1] = 0.1 + 0.15 * index
    learner.values[:, :, 2] = 0.05 * index
    rows = torch.arange(worlds)
    pay = torch.Generator().manual_seed(11)
    richest_died = 0
    for t in range(10):
        values, age, earned = learner.values.clone(), learner.age.clone(), learner.earned.clone()
        payoffs = torch.rand(worlds, agents, generator=pay) * 10
        feed(learner, t, payoffs)
        age_now, earned_now = age + 1, earned + payoffs
        dead = the_newborn(learner)
        oldest = age_now.max(1).values
        assert torch.equal(age_now[rows, dead], oldest)
        if t == 0:  # everybody was equally old: a random one of them died, not the same index everywhere
            assert len(set(dead.tolist())) > 1
        if t >= agents - 1:  # every age now differs: the oldest is unique
            assert ((age_now == oldest[:, None]).sum(1) == 1).all()
        others = earned_now.clone()
        others[rows, dead] = -math.inf
        parent = others.argmax(1)
        richest_died += int((earned_now.argmax(1) == dead).sum())
        assert torch.equal(learner.values[rows, dead], values[rows, parent])
        assert (learner.earned[rows, dead] == 0).all() and (learner.born[rows, dead] == t + 1).all()
        alive = torch.ones(worlds, agents, dtype=torch.bool)
        alive[rows, dead] = False
        assert torch.equal(learner.age[alive], age_now[alive])
        assert torch.equal(learner.earned[alive], earned_now[alive])
        assert torch.equal(learner.values[alive], values[alive])
    assert richest_died > 0  # the case where the dead one must not be its own parent did occur


def test_death_birth_with_a_smaller_sample_picks_the_oldest_and_the_best_paid_of_the_sampled():
    """With d = 2 of 4 labs the dead is the oldest of a uniform sample of 2, so the lab of age rank i
    (0 the youngest) dies with probability i / 6 and the youngest never; the parent is the best paid of 2
    of the 3 others, so it is the best paid of them with probability 2/3 and the worst paid never. A
    learner that ignored the samples (always the oldest, always the best paid) would fail. 5 standard
    errors over 20,000 worlds."""
    worlds, agents = 20_000, 4
    learner = evolvers(worlds, agents, sample_size=2, mutation_rate=0.0)
    learner.values[:, :, 0] = 10.0 * (1 + torch.arange(agents, dtype=torch.float32))  # tells the parent
    learner.age[:] = torch.arange(agents)  # agent 3 the oldest
    pays = torch.tensor([4.0, 3.0, 2.0, 1.0])  # agent 0 the best paid
    values = learner.values.clone()
    feed(learner, 0, pays.expand(worlds, agents))
    rows = torch.arange(worlds)
    dead = the_newborn(learner)
    for rank, count in enumerate(torch.bincount(dead, minlength=agents).tolist()):
        expected = rank / 6
        assert abs(count / worlds - expected) <= 5 * math.sqrt(expected * (1 - expected) / worlds)
    parent = (values[rows, :, 0] == learner.values[rows, dead, 0][:, None]).int().argmax(1)
    assert (parent != dead).all()
    others = pays.expand(worlds, agents).clone()
    others[rows, dead] = math.nan
    best, worst = others.nan_to_num(-math.inf).argmax(1), others.nan_to_num(math.inf).argmin(1)
    assert (parent != worst).all()
    share = (parent == best).double().mean().item()
    assert abs(share - 2 / 3) < 5 * math.sqrt(2 / 9 / worlds)


def test_death_birth_mutation_changes_only_the_named_trait_by_steps_of_the_declared_size():
    """mutation_rate 1 and mutates = 'effort': every offspring's effort moves by a Gaussian step of sd
    mutation_scale x the trait's own size (2 x 1.5 = 3), its other traits stay the parent's exactly.
    Over 20,000 worlds the steps' mean is 0 within 5 standard errors (sd / sqrt(n) = 0.021), their sample
    sd is 3 within 5 standard errors (sd / sqrt(2 n) = 0.015), and 68.3% of them lie within one sd (5
    standard errors: 0.0033 each), which a uniform step of the same sd (57.7%) would not."""
    worlds, agents, sd = 20_000, 2, 2 * EFFORT.mutation_sd
    learner = evolvers(worlds, agents, sample_size=agents, mutation_rate=1.0, mutates="effort",
                       mutation_scale=2.0)  # fmt: skip
    feed(learner, 0, torch.zeros(worlds, agents))
    offspring = learner.values[torch.arange(worlds), the_newborn(learner)]
    assert (offspring[:, 1] == torch.tensor(POWER.initial)).all()
    assert (offspring[:, 2] == torch.tensor(QRP.initial)).all()
    step = (offspring[:, 0] - EFFORT.initial).double()  # the parent has the initial traits
    n = worlds
    assert (step != 0).all()  # every offspring mutated
    assert abs(step.mean().item()) < 5 * sd / math.sqrt(n)
    assert abs(step.std().item() - sd) < 5 * sd / math.sqrt(2 * n)
    within = (step.abs() < sd).double().mean().item()
    assert abs(within - 0.6827) < 5 * math.sqrt(0.6827 * 0.3173 / n)


def test_a_mutation_past_a_bound_is_clamped_to_it():
    """Effort starts 1 below its maximum of 100 with steps of sd 5: a step above +1, with probability
    P(z > 0.2) = 0.4207, must leave the offspring at exactly 100, never above; power, which may not
    mutate here, stays at its initial value however close to its own bound."""
    worlds, agents = 10_000, 2
    near_top = (Trait("effort", "e", 1.0, 100.0, 99.0, 5.0), Trait("power", "W", 1e-3, 1 - 1e-3, 0.998, 0.01))
    learner = evolvers(worlds, agents, near_top, sample_size=agents, mutation_rate=1.0, mutates="effort")
    feed(learner, 0, torch.zeros(worlds, agents))
    offspring = learner.values[torch.arange(worlds), the_newborn(learner)]
    effort = offspring[:, 0]
    assert ((effort >= 1.0) & (effort <= 100.0)).all()
    at_top = (effort == 100.0).double().mean().item()
    assert abs(at_top - 0.4207) < 5 * math.sqrt(0.4207 * 0.5793 / worlds)
    assert (offspring[:, 1] == torch.tensor(0.998)).all()


def test_each_world_clamps_to_its_own_trait_range():
    """A trait's range comes from its world's parameters (effort's high is max_effort, which a study may
    sweep, and the runner then runs the design points in one batch): in a world whose effort may reach only
    50, no offspring exceeds 50, whatever world comes first in the batch, and in a world whose effort may
    reach 100 offspring do pass 50 (steps of sd 200 from 40: about half of them would)."""
    worlds, agents = 200, 2
    wide = (Trait("effort", "e", 1.0, 100.0, 40.0, 200.0),)
    narrow = (Trait("effort", "e", 1.0, 50.0, 40.0, 200.0),)
    config = resolve_learner({"kind": "evolution", "sample_size": agents, "mutation_rate": 1.0}, "learners.r")
    for first, second in ((wide, narrow), (narrow, wide)):
        rng = RandomStreams(world_keys(list(range(worlds))))
        traits = [first] * (worlds // 2) + [second] * (worlds // 2)
        learner = make_learner(config, "researcher", worlds, agents, 1, rng, traits=traits)
        feed(learner, 0, torch.zeros(worlds, agents))
        effort = learner.values[torch.arange(worlds), the_newborn(learner), 0]
        high = torch.tensor([world[0].high for world in traits])
        assert (effort <= high).all()
        assert (effort[high == 100.0] > 50.0).any()


def test_each_trait_mutates_with_probability_mutation_rate_independently():
    """With mutates = 'all' and mutation_rate 0.25, each trait of an offspring changes in a quarter of the
    worlds (5 standard errors: 0.015 at 4,000 worlds), and a trait's mutating does not tell whether another
    one does (both change in 1/16 of them)."""
    worlds, agents = 4_000, 2
    learner = evolvers(worlds, agents, sample_size=agents, mutation_rate=0.25)
    feed(learner, 0, torch.zeros(worlds, agents))
    offspring = learner.values[torch.arange(worlds), the_newborn(learner)]
    changed = offspring != torch.tensor([t.initial for t in TRAITS])
    for rate in changed.double().mean(0).tolist():
        assert abs(rate - 0.25) < 5 * math.sqrt(0.25 * 0.75 / worlds)
    both = (changed[:, 0] & changed[:, 1]).double().mean().item()
    assert abs(both - 1 / 16) < 5 * math.sqrt(1 / 16 * 15 / 16 / worlds)


def test_credit_for_a_round_before_an_agent_was_born_reaches_nobody():
    """A dead lab's refutation must not be charged to the newborn in its place: credit whose round is
    before the agent's birth (here the very round its predecessor died in) is dropped, credit for the
    newborn's own rounds is counted, and so is a living agent's credit for any earlier round."""
    agents = 3
    learner = evolvers(1, agents, sample_size=agents, mutation_rate=0.0, generation_period=2)
    feed(learner, 0, torch.ones(1, agents))
    feed(learner, 1, torch.ones(1, agents))  # the generation: one agent dies, its offspring is born at 2
    newborn = int(the_newborn(learner)[0])
    other = (newborn + 1) % agents
    assert learner.born[0, newborn] == 2 and learner.born[0, other] == 0
    before = learner.earned.clone()
    credit = Credit(
        worlds=1,
        world=torch.tensor([0, 0, 0]),
        agent=torch.tensor([newborn, newborn, other]),
        action=torch.tensor([0, 0, 0]),
        amount=torch.tensor([-100.0, 7.0, 2.0]),
        round=torch.tensor([1, 2, 0]),  # the predecessor's last round, the newborn's first, an old one
    )
    feed(learner, 2, torch.ones(1, agents), credit)  # no generation at round 2
    assert learner.earned[0, newborn].item() == 0 + 1 + 7
    assert learner.earned[0, other].item() == before[0, other].item() + 1 + 2


def test_credit_without_rounds_counts_whole():
    """A game that does not tell the credited round (Credit.round None) is charged as before: the amount
    goes to the agent whatever its birth."""
    agents = 3
    learner = evolvers(1, agents, sample_size=agents, mutation_rate=0.0, generation_period=2)
    feed(learner, 0, torch.zeros(1, agents))
    feed(learner, 1, torch.zeros(1, agents))
    newborn = int(the_newborn(learner)[0])
    credit = Credit(1, torch.tensor([0]), torch.tensor([newborn]), torch.tensor([0]), torch.tensor([-4.0]))
    feed(learner, 2, torch.zeros(1, agents), credit)
    assert learner.earned[0, newborn].item() == -4.0


@pytest.mark.parametrize(
    ("pays", "share"),
    [
        ([(1, 0), (1, 0), (1, 1)], 3 / 4),  # accumulated over the generation: 3 against 1
        ([(0, 0), (0, 0), (0, 0)], 1 / 2),  # nobody earned anything: parents drawn uniformly
        ([(1, -2), (1, -2), (1, -2)], 1.0),  # negative pay-off counts as 0: never a parent
    ],
)
def test_wright_fisher_parents_are_drawn_in_proportion_to_accumulated_payoff(pays, share):
    """Every third round the whole population is replaced; each offspring's parent is drawn with
    probability proportional to its pay-off accumulated over the generation, clamped at 0. Two groups of
    labs, interleaved (the low earners first, so that a zero-pay-off agent at index 0 would be picked by an
    off-by-one), are marked by their effort; the share of offspring of the first group is its share of the
    pay-off within 5 standard errors of a proportion over 4,000 worlds x 8 places. Before the generation
    nothing changes; after it every age and pay-off is 0 and everybody was born at round 3."""
    worlds, agents = 4_000, 8
    learner = evolvers(worlds, agents, dynamics="wright_fisher", generation_period=3, mutation_rate=0.0,
                       sample_size=agents)  # fmt: skip
    first_group = torch.arange(agents) % 2 == 1
    learner.values[:, :, 0] = torch.where(first_group, 90.0, 10.0)
    start = learner.values.clone()
    for t, (high, low) in enumerate(pays):
        feed(learner, t, torch.where(first_group, float(high), float(low)).expand(worlds, agents))
        if t < 2:
            assert torch.equal(learner.values, start) and (learner.age == t + 1).all()
    assert (learner.age == 0).all() and (learner.earned == 0).all() and (learner.born == 3).all()
    effort = learner.values[:, :, 0]
    assert ((effort == 90.0) | (effort == 10.0)).all()  # every offspring is a copy of a parent
    observed = (effort == 90.0).double().mean().item()
    n = worlds * agents
    assert abs(observed - share) <= 5 * math.sqrt(share * (1 - share) / n)


SMALDINO = PUBLICATION_PARAMS.resolve({"preset": "smaldino_mcelreath_2016", "n_researchers": 30})
EVOLVING = {"researcher": resolve_learner({"kind": "evolution"}, "researcher")}
MEAN_EFFORT, MEAN_POWER = 8, 9  # columns of the publication game's metrics


def test_evolving_labs_give_the_same_numbers_for_the_same_seeds_whatever_shares_their_batch():
    """Every draw is counter-based: the same seeds give the same metrics bit for bit (NaN where a metric
    has nothing to measure, such as the rigor of labs that have none), and world 2's numbers are the same
    run alone as beside world 1. The labs did evolve (power moved off the preset's 0.8) and their traits
    stayed in range."""
    first = simulate("publication", [SMALDINO] * 2, EVOLVING, [1, 2], 60)
    again = simulate("publication", [SMALDINO] * 2, EVOLVING, [1, 2], 60)
    alone = simulate("publication", [SMALDINO], EVOLVING, [2], 60)
    assert torch.isnan(first).any()  # the comparison below must be NaN-safe, and is
    assert torch.allclose(first, again, rtol=0, atol=0, equal_nan=True)
    assert torch.allclose(first[:, 1], alone[:, 0], rtol=0, atol=0, equal_nan=True)
    assert not torch.allclose(first[:, 0], first[:, 1], rtol=0, atol=0, equal_nan=True)  # seeds matter
    power, effort = first[:, :, MEAN_POWER], first[:, :, MEAN_EFFORT]
    assert (power[-1] != 0.8).all() and ((power > 0) & (power < 1)).all()
    assert ((effort >= 1) & (effort <= 100)).all()


STUDY = {"name": "evolving_labs", "rounds": 30, "replications": 1, "seed": 1}
GAME = {"study_model": "effort", "n_researchers": 15}
LEARNER = {"kind": "evolution", "sample_size": 5}


def study_file(path, study=None, game=None, learner=None, sweep=None):
    """A study TOML file: the base study, game and learner tables with these entries changed."""
    tables = {
        "study": {**STUDY, **(study or {})},
        "game": {**GAME, **(game or {})},
        "learners.researcher": {**LEARNER, **(learner or {})},
        "sweep": sweep or {},
    }
    lines = []
    for table, entries in tables.items():
        lines.append(f"[{table}]")
        lines += [f"{json.dumps(key)} = {json.dumps(value)}" for key, value in entries.items()]  # quoted keys
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def cli(monkeypatch):
    """`python -m studies` without the commands other packages add (the bench's plugin imports a module
    that reads `studies.__file__`, which a bare `pytest`, whose sys.path holds tests/ but not the repository
    root, resolves to the namespace package tests/studies): only the study commands are under test."""
    monkeypatch.setattr(studies.cli, "entry_points", lambda group: [])
    return studies.cli.main


def test_the_base_study_of_evolving_labs_is_accepted(cli, tmp_path, db, capsys):
    """The refusals below are refusals of their one change: the study they change checks cleanly."""
    assert cli(["check", str(study_file(tmp_path / "ok.toml")), "--db", str(db)]) == 0
    assert "1 design point(s) x 1 replication(s) = 1 runs" in capsys.readouterr().out
    assert not db.exists()


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        ({"game": {"effort": 0.5}}, ["game.effort = 0.5 is out of range", "allowed is a number >= 1"]),
        ({"game": {"power": 1.0}}, ["power = 1 is outside (0, 1)", "strictly between 0 and 1"]),
        ({"game": {"qrp_bias": 1.5}}, ["game.qrp_bias = 1.5 is out of range", ">= 0 and <= 1"]),
        ({"game": {"qrp_bias": -0.1}}, ["game.qrp_bias = -0.1 is out of range", ">= 0 and <= 1"]),
        (
            {"learner": {"generation_period": 50}},
            ["learners.researcher.generation_period = 50", "longer than the run (30 rounds)", "1 to 30"],
        ),
        (
            {"learner": {"sample_size": 20}},
            ["learners.researcher.sample_size = 20", "the 15 agents", "allowed is 1 to 15"],
        ),
        (
            {"game": {"study_model": "rigor"}},
            ["learners.researcher.kind = 'evolution'", "has no traits", "study_model = 'effort'"],
        ),
        (
            {"learner": {"mutates": "effort, rigor"}},
            ["learners.researcher.mutates = 'effort, rigor'", "'all' or", "effort, power, replication, qrp"],
        ),
        (
            {"learner": {"mutates": ""}},
            ["learners.researcher.mutates = ''", "'all' or", "effort, power, replication, qrp"],
        ),
        (
            {"game": {"preset": "smaldino_2017"}},
            ["game.preset = 'smaldino_2017' is not a known preset", "allowed are 'smaldino_mcelreath_2016'"],
        ),
        (  # refused at the one sweep point that does not fit, though the base config does
            {"sweep": {"learners.researcher.sample_size": [5, 20]}},
            ["learners.researcher.sample_size = 20", "allowed is 1 to 15"],
        ),
    ],
)
def test_a_study_that_cannot_evolve_is_refused_in_one_line_and_writes_nothing(
    change, fragments, cli, tmp_path, db, capsys
):
    """Each bad value is refused before anything runs, in one line that names the field, the value and
    what is allowed, and the results database is never created."""
    path = study_file(tmp_path / "bad.toml", **change)
    assert cli(["run", str(path), "--db", str(db), "--quiet"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1, error
    for fragment in fragments:
        assert fragment in error, error
    assert not db.exists()
