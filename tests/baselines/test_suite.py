"""The benchmark suite: its rows, its store table, its ratios and the memory it finds per agent.

Speeds are not asserted here (they depend on the machine and its load); what is asserted is that the suite
measures what it says: decisions counted right, rows stored with their provenance, ratios from rows of one
run, and state under the issue's 64 bytes per agent for tabular learners.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path

import polars as pl
import pytest
from helpers import needs_cpp_compiler

from benchmarks import suite
from benchmarks.pettingzoo_loop import build
from models import speed
from models.games.election.voting import RULES
from models.games.publication import PUBLICATION_PARAMS, action_names
from models.learners import resolve_learner
from studies import store
from studies.cli import main
from studies.version import code_version

SMALL = [
    suite.Case("publication", "engine", 100, 4),
    suite.Case("publication", "pettingzoo_loop", 100, 1),
    suite.Case("publication", "mesa", 100, 1),
]


@pytest.mark.parametrize("game", ["publication", "election"])
def test_engine_state_is_under_64_bytes_per_agent(game: str) -> None:
    """Tabular learners plus the game's state, per agent, at a size where fixed costs do not hide it."""
    case = suite.Case(game, "engine", 2_000, 8, "borda" if game == "election" else None)
    row = suite.measure(case, threads=1)
    assert 0 < row["state_bytes_per_agent"] < 64
    assert row["decisions"] == row["agents_per_world"] * row["worlds"] * row["rounds"]
    assert row["decisions_per_second"] == pytest.approx(row["decisions"] / row["seconds"])


def test_bench_stores_every_case_with_provenance_and_prints_the_ratios(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(suite, "plan", lambda quick, games, device="cpu": SMALL)
    monkeypatch.setattr(suite, "check_coverage", lambda cases: None)  # a plan of a few cases
    db = tmp_path / "bench.duckdb"
    assert main(["bench", "--quick", "--quiet", "--db", str(db)]) == 0
    rows = store.query(db, "SELECT * FROM benchmarks ORDER BY method")
    assert sorted(rows["method"].to_list()) == ["engine", "mesa", "pettingzoo_loop"]
    assert rows["bench_id"].n_unique() == 1
    assert set(rows["code_commit"]) == {code_version()["commit"]}
    assert (rows["decisions"] == rows["agents_per_world"] * rows["worlds"] * rows["rounds"]).all()
    assert (rows["rounds"] >= 1).all() and (rows["decisions_per_second"] > 0).all()
    assert rows.filter(pl.col("method") == "engine")["threads"].item() >= 1
    assert set(rows.filter(pl.col("method") != "engine")["threads"]) == {1}

    ratios = suite.ratios(rows)
    rate = dict(zip(rows["method"], rows["decisions_per_second"], strict=True))
    assert ratios["a_over_b"].item() == pytest.approx(rate["engine"] / rate["pettingzoo_loop"])
    assert ratios["a_over_c"].item() == pytest.approx(rate["engine"] / rate["mesa"])
    assert "Speed-ups" in capsys.readouterr().out

    # A second run adds a run of its own: figures of different days are never mixed.
    assert main(["bench", "--quick", "--quiet", "--db", str(db)]) == 0
    counts = store.query(db, "SELECT bench_id, count(*) AS n FROM benchmarks GROUP BY bench_id")
    assert counts.height == 2 and set(counts["n"]) == {3}


def test_bench_refuses_another_programs_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import duckdb

    db = tmp_path / "other.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE things (x INTEGER)")
    before = db.read_bytes()
    assert main(["bench", "--quick", "--quiet", "--db", str(db)]) == 2
    assert "something else" in capsys.readouterr().err
    assert db.read_bytes() == before


def test_the_plan_covers_the_issue_sizes() -> None:
    cases = suite.plan()
    engine = {(c.game, c.agents, c.worlds) for c in cases if c.method == "engine"}
    assert ("publication", 1_000, 1_000) in engine and ("publication", 100_000, 100) in engine
    assert {c.agents for c in cases if c.method == "mesa"} == set(suite.AGENTS)
    rules = {c.rule for c in cases if c.game == "election" and c.method == "pettingzoo_loop"}
    assert rules == set(RULES)
    # Every rule's engine at its largest batch, as plurality's, so that a/b compares like with like.
    assert all(("election", 1_000, 1_000, rule) in {(c.game, c.agents, c.worlds, c.rule) for c in cases}
               for rule in RULES)  # fmt: skip


def test_a_gpu_plan_holds_the_batches_that_fit_half_its_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def largest(device: str) -> dict[str, int]:
        cases = suite.plan(device=device)
        return {
            g: max(c.agents * c.worlds for c in cases if c.game == g and c.method == "engine")
            for g in suite.GAMES
        }

    assert largest("cpu") == suite.MAX_BATCH_AGENTS
    # Half of 80 GiB over a round's peak (320 bytes a researcher, 256 a voter): 134M and 168M agents, so
    # 100,000 agents x 1,000 worlds and no more.
    card = type("Properties", (), {"total_memory": 80 * 2**30})
    monkeypatch.setattr(suite.torch.cuda, "get_device_properties", lambda device: card)
    assert largest("cuda") == {"publication": 100_000_000, "election": 100_000_000}
    card.total_memory = 16 * 2**30  # 27M and 34M: 10,000 x 1,000
    assert largest("cuda") == {"publication": 10_000_000, "election": 10_000_000}
    # The engine's timed rounds are sized by what a GPU does: 10 a block at the largest batch.
    assert suite.block_rounds(suite.Case("publication", "engine", 100_000, 1_000), 100_000, "cuda") == 10


def test_the_machine_names_its_gpu_where_it_has_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(suite.torch.cuda, "is_available", lambda: False)
    assert "gpu" not in suite.machine() and suite.machine()["cores"] == os.cpu_count()
    monkeypatch.setattr(suite.torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(suite.torch.cuda, "get_device_name", lambda: "NVIDIA H100 80GB HBM3")
    assert suite.machine()["gpu"] == "NVIDIA H100 80GB HBM3"


def test_a_group_holds_every_case_compared_with_another() -> None:
    groups = suite.groups(suite.plan())
    assert sum(len(group) for group in groups) == len(suite.plan())
    for group in groups:
        assert len({(c.game, c.rule, c.scenario, c.agents) for c in group}) == 1
        assert {c.method for c in group} >= {"engine", "pettingzoo_loop"}
    keys = [(g[0].game, g[0].rule, g[0].scenario, g[0].agents) for g in groups]
    assert len(keys) == len(set(keys))


def test_a_scenario_plays_the_same_game_in_the_engine_and_the_loop() -> None:
    """The Smaldino & McElreath scenario: its own cases, the engine with evolving labs and the loop on the
    same game parameters; the defaults' cases keep theirs."""
    cases = [c for c in suite.plan() if c.scenario == "smaldino_mcelreath"]
    assert {(c.method, c.agents, c.worlds) for c in cases} == {
        ("engine", 1_000, 10), ("engine", 1_000, 100), ("engine", 1_000, 1_000), ("pettingzoo_loop", 1_000, 1)
    }  # fmt: skip
    assert all("[smaldino_mcelreath]" in c.label for c in cases)
    engine, loop = cases[0], cases[-1]
    params = suite.game_params(engine)
    assert params["study_model"] == "effort" and params["replications_per_finding"] == 0
    assert params["n_researchers"] == 1_000 and params["replication_rate"] == 0.2
    assert suite.learner_configs(engine, params)["researcher"]["kind"] == "evolution"
    # The effort model's studies run on their own kernels, whose fusing pays for larger runs; cached by the
    # configuration they compile for (evolving labs, one journal, no review or funds).
    assert suite.kernels_of(engine) == ("PublicationStudyKernels-traits-1journals", 4.0)
    env, learners = build(loop.game, suite.game_values(loop), 10, seed=0)
    assert env.params == params and len(learners) == 1_000 + 2  # and the journal and the funder
    researchers = [learner for name, learner in learners.items() if name.startswith("researcher_")]
    assert {learner.n_actions for learner in researchers} == {len(action_names(params))}

    default = suite.Case("publication", "engine", 1_000, 10)
    assert default.scenario is None and default.label == "publication engine 1000 agents x 10 worlds"
    assert suite.game_params(default) == PUBLICATION_PARAMS.resolve({"n_researchers": 1_000})
    assert suite.learner_configs(default, suite.game_params(default))["researcher"] == resolve_learner(
        {}, "researcher"
    )
    assert all(suite.on_kernels(c) for c in suite.plan() if c.scenario is None)


def test_the_ratios_pair_rows_of_one_scenario() -> None:
    def row(method: str, rate: float, scenario: str | None = None, worlds: int = 1) -> dict:
        return {"game": "publication", "rule": None, "scenario": scenario, "method": method,
                "agents": 1_000, "worlds": worlds, "decisions_per_second": rate}  # fmt: skip

    rows = pl.DataFrame(
        [
            row("engine", 5e7, worlds=100),
            row("pettingzoo_loop", 2e5),
            row("mesa", 1e5),
            row("engine", 4e6, "smaldino_mcelreath", 10),
            row("engine", 8e6, "smaldino_mcelreath", 100),
            row("pettingzoo_loop", 4e5, "smaldino_mcelreath"),
        ]
    )
    ratios = suite.ratios(rows)
    assert ratios.select("scenario", "engine_worlds", "a", "b", "c", "a_over_b").rows() == [
        (None, 100, 5e7, 2e5, 1e5, 250.0),
        ("smaldino_mcelreath", 100, 8e6, 4e5, None, 20.0),
    ]
    # Rows of a store written before scenarios existed: the defaults.
    old = suite.ratios(rows.filter(pl.col("scenario").is_null()).drop("scenario"))
    assert old.rows() == ratios.head(1).rows()


def test_a_scenario_is_measured_and_stored_with_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = [
        suite.Case("publication", "engine", 100, 2, scenario="smaldino_mcelreath"),
        suite.Case("publication", "pettingzoo_loop", 100, 1, scenario="smaldino_mcelreath"),
    ]
    monkeypatch.setattr(suite, "plan", lambda quick, games, device="cpu": cases)
    monkeypatch.setattr(suite, "check_coverage", lambda cases: None)  # a plan of a few cases
    db = tmp_path / "bench.duckdb"
    store.ensure_schema(db)  # a store as studies/store.py writes it, without the scenario column
    assert main(["bench", "--quick", "--quiet", "--db", str(db)]) == 0
    rows = store.query(db, "SELECT * FROM benchmarks ORDER BY method")
    assert rows["scenario"].to_list() == ["smaldino_mcelreath"] * 2
    assert rows.filter(pl.col("method") == "engine")["fused"].to_list() == [False]
    ratios = suite.ratios(rows)
    assert ratios["scenario"].to_list() == ["smaldino_mcelreath"] and ratios["a_over_b"].item() > 0


def test_the_wait_for_a_turn_is_not_timed() -> None:
    """In a group, a case waits between its blocks while the others run; the wait must not count."""
    waits: list[float] = []

    def wait() -> None:
        time.sleep(1.0)
        waits.append(1.0)

    row = suite.measure(SMALL[0], threads=1, before_block=wait)
    assert len(waits) == suite.BLOCKS
    assert row["seconds"] < 1.0  # a block of this small case takes milliseconds


def test_a_group_gives_one_row_per_case_in_order_and_leaves_no_process() -> None:
    rows = suite.measure_group(SMALL, threads=1)
    assert [(r["method"], r["worlds"]) for r in rows] == [(c.method, c.worlds) for c in SMALL]
    assert all(r["decisions_per_second"] > 0 and r["peak_bytes_per_agent"] > 0 for r in rows)
    assert multiprocessing.active_children() == []


def test_a_failing_case_stops_its_group_and_names_itself() -> None:
    broken = suite.Case("publication", "engine", 0, 1)  # no researchers: the game refuses it
    with pytest.raises(RuntimeError, match="publication engine 0 agents x 1 worlds: ConfigError"):
        suite.measure_group([SMALL[1], broken], threads=1)
    assert multiprocessing.active_children() == []


def test_the_study_overhead_row_is_the_median_of_fresh_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    shares = iter([0.3, 0.1, 0.2, 0.5, 0.4])

    def fake_run(fn: object, *args: object) -> dict:
        return {"method": getattr(fn, "__name__", ""), "overhead_share": next(shares)}

    monkeypatch.setattr(suite, "in_fresh_process", fake_run)
    median = suite.median_study_overhead("study.toml", runs=3)
    assert median == {"method": "study_overhead", "overhead_share": 0.2}
    assert suite.median_study_overhead("study.toml", runs=1)["overhead_share"] == 0.5


def test_the_study_overhead_row_describes_the_study(tmp_path: Path) -> None:
    study = tmp_path / "tiny.toml"
    study.write_text('[study]\nname = "tiny"\nrounds = 20\nreplications = 3\n\n[game]\nn_researchers = 10\n')
    row = suite.study_overhead(str(study), str(tmp_path))
    assert row["method"] == "study_overhead" and 0 < row["overhead_share"] < 1
    assert row["decisions"] == 10 * 3 * 20 and row["worlds"] == 3


def test_a_case_whose_process_dies_stops_its_group() -> None:
    """Killed from outside (as by the kernel when memory runs out), the last case must not hang the bench."""
    outcome: dict[str, str] = {}

    def run_group() -> None:
        try:
            suite.measure_group(SMALL, threads=1)
        except RuntimeError as error:
            outcome["error"] = str(error)

    thread = threading.Thread(target=run_group)
    thread.start()
    deadline = time.monotonic() + 60
    while len(multiprocessing.active_children()) < len(SMALL) and time.monotonic() < deadline:
        time.sleep(0.05)
    last = max(multiprocessing.active_children(), key=lambda process: int(process.name.rsplit("-", 1)[1]))
    os.kill(last.pid, signal.SIGKILL)
    thread.join(timeout=60)
    assert not thread.is_alive(), "the group hung on a dead case"
    assert SMALL[-1].label in outcome["error"] and "ended without a result" in outcome["error"]
    assert multiprocessing.active_children() == []


@needs_cpp_compiler
def test_the_engine_is_timed_fused_where_a_long_study_of_its_batch_would_be(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for thresholds in (speed.FUSE_MIN_AGENT_ROUNDS, speed.FUSE_MIN_AGENT_ROUNDS_CACHED):  # cached or not
        monkeypatch.setitem(thresholds, "cpu", 400 * suite.STUDY_ROUNDS)  # from 400 agents a round
    fused = suite.measure(suite.Case("publication", "engine", 100, 4), threads=1)
    eager = suite.measure(suite.Case("publication", "engine", 100, 3), threads=1)
    loop = suite.measure(SMALL[1], threads=1)
    assert (fused["fused"], eager["fused"], loop["fused"]) == (True, False, None)
    assert not speed._unavailable  # compiled for real


def test_the_bench_compiles_once_the_kernels_of_the_games_that_fuse_only_cached(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    held: set[str] = set()
    compiled: list[str] = []

    def compile_in_fresh_process(fn, case, device):
        compiled.append(suite.kernels_of(case)[0])
        return {}

    monkeypatch.setattr(suite.compile_cache, "holds", lambda kernels, device="cpu": kernels in held)
    monkeypatch.setattr(suite, "in_fresh_process", compile_in_fresh_process)
    full = suite.plan()
    # Both games have batches of 100,000 agents and more a round; the effort model's and the institutions'
    # scenarios run on the studies kernels (1,000 x 1,000 pays for them even at their fusing cost), which
    # compile a graph per configuration: each is compiled once.
    studies = [
        "PublicationStudyKernels-actions-3journals-acting-funds",  # institutions_learning
        "PublicationStudyKernels-traits-1journals",  # smaldino_mcelreath
        "PublicationStudyKernels-traits-3journals-review-funds",  # institutions
    ]
    suite.cache_kernels(full)
    assert compiled == ["ElectionKernels", "PublicationKernels", *studies]
    held.update(["PublicationKernels", studies[1]])
    suite.cache_kernels(full)
    assert compiled[5:] == ["ElectionKernels", studies[0], studies[2]]
    suite.cache_kernels(suite.plan(quick=True))  # at most 10,000 agents a round: eager, cached or not
    assert compiled[8:] == []


def test_bench_runs_only_the_named_scenarios(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`bench --scenario NAME` measures that scenario's cases alone, stored under its name; an unknown name
    is refused by the argument parser."""
    measured: list[suite.Case] = []

    class Measured(Exception):
        """Stops the command once it has handed over its cases."""

    def run(cases, record, threads=None, device="cpu", on_group=None):
        measured.extend(cases)
        raise Measured

    monkeypatch.setattr(suite, "run", run)
    monkeypatch.setattr(suite, "cache_kernels", lambda cases, device="cpu", on_compile=None: [])
    db = tmp_path / "bench.duckdb"
    argv = ["bench", "--quick", "--quiet", "--db", str(db), "--scenario", "credit_pivotal_borda"]
    with pytest.raises(Measured):
        main([*argv, "--scenario", "laver_hunters"])
    assert {c.scenario for c in measured} == {"credit_pivotal_borda", "laver_hunters"}
    assert {c.method for c in measured} == {"engine", "pettingzoo_loop"}
    params = suite.game_params(measured[0])
    assert params["credit"] == "pivotal" and params["rule"] == "borda" and params["strategic_voting"]
    with pytest.raises(SystemExit):
        main(["bench", "--quick", "--db", str(db), "--scenario", "no_such_scenario"])


def test_every_game_and_learner_family_of_the_project_has_a_bench_row() -> None:
    # Issue 23: every capability gets its bench row; the whole bench and the quick one measure them all.
    for quick in (False, True):
        assert suite.unbenched(suite.plan(quick=quick)) == []
    games, kinds, acting = suite.measured_kinds(suite.plan())
    assert {"publication", "election", "matrix"} <= games
    assert {"q_learning", "evolution", "fixed", "fixed_actions", "sticker", "predator", "lola"} <= kinds
    # The institutions and journals acting, not only held to the game's parameters.
    assert {"publication.journal", "publication.funder", "election.institution"} <= acting


def test_the_bench_refuses_to_run_while_a_learner_of_the_project_has_no_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from models.learners import LEARNERS
    from models.learners.fixed import FixedPolicy

    ours = {"kind": "unmeasured", "__module__": "models.learners.new"}
    unmeasured = type("Unmeasured", (FixedPolicy,), ours)
    theirs = type("Theirs", (FixedPolicy,), {"kind": "theirs", "__module__": "my_lab.learners"})
    monkeypatch.setitem(LEARNERS, "theirs", theirs)  # a user's extension: not the project's to bench
    assert suite.unbenched(suite.plan(quick=True)) == []
    monkeypatch.setitem(LEARNERS, "unmeasured", unmeasured)
    assert suite.unbenched(suite.plan(quick=True)) == ["learner unmeasured"]
    db = tmp_path / "bench.duckdb"
    assert main(["bench", "--quick", "--quiet", "--db", str(db)]) == 2
    assert "no row for learner unmeasured" in capsys.readouterr().err
    assert not db.exists()


def test_an_institution_that_never_acts_in_the_bench_is_a_missing_row(monkeypatch) -> None:
    # Every scenario where the electoral body learns taken away: the bench lacks that capability's row.
    kept = {name: s for name, s in suite.SCENARIOS.items() if not s.params.get("institution_learns")}
    monkeypatch.setattr(suite, "SCENARIOS", kept)
    assert suite.unbenched(suite.plan(quick=True)) == ["acting role election.institution"]
