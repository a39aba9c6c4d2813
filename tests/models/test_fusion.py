"""Fused kernels: compiled or eager, the same numbers bit for bit; one that fails to compile runs eagerly."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import torch
from helpers import needs_cpp_compiler, needs_cuda

from models import speed
from models.games import get_game
from models.games.election.params import ELECTION_PARAMS
from models.games.election.voting import RULES
from models.games.publication.params import PUBLICATION_PARAMS
from models.learners import resolve_learner
from models.simulate import Batch, build_batch, play
from models.speed import cpp_codegen, fusing, kernel, worth_fusing


def _publication_batch(fused: bool, device: str, copies: int = 1) -> Batch:
    # 37 researchers: not a multiple of the 8-wide vector loops, so their tails are exercised; the worlds
    # differ in the parameters the kernels read, a replication-heavy world included.
    worlds = [
        PUBLICATION_PARAMS.resolve({"n_researchers": 37, "literature_size": 12, **values})
        for values in (
            {},
            {"replication_reward": 2.0, "failed_replication_penalty": 3.0, "publish_null_prob": 0.4},
            {"base_rate": 0.5, "hacked_alpha": 0.6, "rigor_cost": 0.8, "novelty_reward": 3.0},
        )
    ]
    learners = [resolve_learner({"temperature": t, "initial_value": 1.0}, "r") for t in (0.05, 0.3, 2.0)]
    seeds = list(range(4, 4 + 3 * copies))
    batch = build_batch("publication", worlds * copies, {"researcher": learners * copies}, seeds, device)
    batch.fused = fused
    return batch


def _rounds(batch: Batch, rounds: int) -> list[dict[str, torch.Tensor]]:
    with torch.inference_mode():
        return [vars(batch.round().tallies) for _ in range(rounds)]


# Compiled for the CPU as C++, for a GPU as Triton. On a GPU, a million researchers: Triton's own numerics
# (fused multiply-add, approximate division) differ from eager's in the last bit now and then, which flips
# a rare choice; without EAGER_NUMERICS this test failed at round 7 on an H200.
@pytest.mark.parametrize(
    ("device", "copies"),
    [pytest.param("cpu", 1, marks=needs_cpp_compiler), pytest.param("cuda", 10_000, marks=needs_cuda)],
)
def test_a_fused_batch_gives_the_eager_numbers_bit_for_bit(device: str, copies: int):
    eager, fused = _publication_batch(False, device, copies), _publication_batch(True, device, copies)
    eager_tallies, fused_tallies = _rounds(eager, 40), _rounds(fused, 40)
    for t, (a, b) in enumerate(zip(eager_tallies, fused_tallies, strict=True)):
        for name, value in a.items():
            assert (
                value == b[name]
                if not isinstance(value, torch.Tensor)  # the count of researchers; None: no institution
                else torch.equal(value.nan_to_num(-1.5), b[name].nan_to_num(-1.5))
            ), (t, name)
    assert not speed._unavailable  # compiled, not run eagerly after a failed compile
    assert torch.equal(eager.learners["researcher"].values, fused.learners["researcher"].values)
    eager_literature, fused_literature = eager.engine.literature, fused.engine.literature
    for name in ("true", "open", "author"):
        assert torch.equal(getattr(eager_literature, name), getattr(fused_literature, name)), name
    assert torch.equal(eager.engine.findings_published, fused.engine.findings_published)
    # Not a vacuous comparison: the worlds published, replicated and refuted findings.
    for name in ("replication_studies", "published_novel_positives", "published_false_positives"):
        assert sum(int(tallies[name].sum()) for tallies in eager_tallies) > 0, name


@needs_cpp_compiler
@pytest.mark.parametrize("rule", RULES)
def test_a_fused_election_gives_the_eager_numbers_bit_for_bit(rule: str):
    # A coarse grid puts candidates on one platform now and then (split first choices, tied pairs); 37
    # voters make vector tails; the second world's costs and biases make abstention and other ballots.
    worlds = [
        ELECTION_PARAMS.resolve({"n_voters": 37, "rule": rule, "platform_grid": 3, **values})
        for values in ({}, {"voting_cost": 0.3, "donor_bias": 0.5, "media_attention_bias": 0.3})
    ]
    batches = []
    for fused in (False, True):
        roles = get_game("election").role_shapes(worlds[0])
        batch = build_batch("election", worlds, {role: resolve_learner({}, role) for role in roles}, [3, 4])
        batch.fused = fused
        batches.append((batch, _rounds(batch, 30)))
    (eager, eager_tallies), (fused, fused_tallies) = batches
    for t, (a, b) in enumerate(zip(eager_tallies, fused_tallies, strict=True)):
        for name, value in a.items():
            assert torch.equal(value, b[name]), (t, name)
    for role, learner in eager.learners.items():
        assert torch.equal(learner.values, fused.learners[role].values), role
    assert not speed._unavailable
    # Not vacuous: some voters abstained and some candidates shared a platform.
    assert min(float(tallies["turnout"].min()) for tallies in eager_tallies) < 1
    shared = [
        (p.unsqueeze(1) == p.unsqueeze(2)).all(-1).sum() > 2 * 3
        for p in (t["platforms"] for t in eager_tallies)
    ]
    assert any(shared)


def test_play_fuses_only_the_batches_whose_work_pays_for_compiling(monkeypatch):
    assert not worth_fusing(25 * 100, 1000)  # the default study's batches
    assert worth_fusing(1000 * 1000, 500) and not worth_fusing(1000 * 1000, 499)
    # A GPU runs a round of a million agents in milliseconds: compiling pays only for far larger work.
    assert not worth_fusing(1000 * 1000, 1000, "cuda") and worth_fusing(100_000_000, 1000, "cuda")
    seen, depth = [], [0]

    @contextmanager
    def fusing(enabled: bool) -> Iterator[None]:  # a round's choice, not its eager institutions' inside it
        if depth[0] == 0:
            seen.append(enabled)
        depth[0] += 1
        try:
            yield
        finally:
            depth[0] -= 1

    monkeypatch.setattr(speed, "fusing", fusing)
    for thresholds in (speed.FUSE_MIN_AGENT_ROUNDS, speed.FUSE_MIN_AGENT_ROUNDS_CACHED):  # cached or not
        monkeypatch.setitem(thresholds, "cpu", 2 * 10 * 5)  # 2 worlds of 10 for 5 rounds
    world, learner = PUBLICATION_PARAMS.resolve({"n_researchers": 10}), resolve_learner({}, "r")
    for rounds in (4, 5):
        play("publication", [world] * 2, {"researcher": learner}, [1, 2], rounds)
    assert seen == [False] * 4 + [True] * 5


def test_a_kernel_that_cannot_compile_runs_eagerly_with_a_warning(monkeypatch):
    def broken_compile(*args, **kwargs):
        def fail(*args):
            raise RuntimeError("no C++ compiler found\nmore detail")

        return fail

    monkeypatch.setattr(torch, "compile", broken_compile)
    monkeypatch.setattr(speed, "_unavailable", [])

    @kernel
    def doubled(x: torch.Tensor) -> torch.Tensor:
        return x * 2

    x = torch.arange(5.0)
    said = r"no C\+\+ compiler found\); this process runs its kernels eagerly"
    with fusing(), pytest.warns(RuntimeWarning, match=said):
        assert torch.equal(doubled(x), x * 2)
    with fusing():
        assert torch.equal(doubled(x), x * 2)  # eagerly, without trying or warning again
    assert speed._unavailable == ["RuntimeError: no C++ compiler found"]


@needs_cpp_compiler
def test_an_eager_alternative_runs_unfused_and_the_kernel_itself_fused():
    ran = []

    def sparse(x: torch.Tensor) -> torch.Tensor:
        ran.append("eager")
        return x + 1

    @kernel(eager=sparse)
    def dense(x: torch.Tensor) -> torch.Tensor:
        ran.append("traced")  # runs while compiling, not at each call
        return x + 1

    x = torch.arange(5.0)
    assert torch.equal(dense(x), x + 1) and ran == ["eager"]
    with fusing():
        assert torch.equal(dense(x), x + 1)
    assert ran[1:] and set(ran[1:]) == {"traced"}


@needs_cpp_compiler
def test_compiled_kernels_load_whole_vectors_of_32_and_64_bit_values_and_keep_narrow_loads_counted():
    from torch._inductor.cpu_vec_isa import pick_vec_isa
    from torch._inductor.utils import run_and_get_code

    @kernel
    def mixed(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
        return (a + 3) * (b.to(torch.int32) + 1) + (c & 7).to(torch.int32) + (d > 0.5)

    # 37 values: whole vectors of 8 (AVX2) or 16 (AVX-512) and a tail of 5, where the count must stay.
    lanes = pick_vec_isa().bit_width() // 32
    a = torch.arange(37, dtype=torch.int32)
    b, c, d = torch.arange(37, dtype=torch.int8), torch.arange(37, dtype=torch.int64) * 3, torch.rand(37)
    with fusing():
        fused, (code,) = run_and_get_code(mixed, a, b, c, d)
    assert torch.equal(fused, mixed(a, b, c, d))  # the same numbers as eager, tails and int8 included
    if not cpp_codegen.written_for(torch.__version__):
        return  # the mends are written for another torch: this one's code is inductor's own
    kernel_code = code[code.index('extern "C"') :]
    # The int32 and int64 inputs are loaded whole in the loop body, counted in the tail; the int8 is
    # narrower than a vector and stays counted everywhere.
    assert "Vectorized<int32_t>::loadu(in_ptr0 + static_cast<int64_t>(x0));" in kernel_code
    counted = f"Vectorized<int32_t>::loadu(in_ptr0 + static_cast<int64_t>(x0), static_cast<int64_t>({lanes}))"
    assert counted not in kernel_code
    assert "VectorizedN<int64_t,2>::loadu(in_ptr2 + static_cast<int64_t>(x0));" in kernel_code
    narrow = rf"Vectorized<int8_t>::loadu\(in_ptr1 \+ [^;]*, static_cast<int64_t>\({lanes}\)\)"
    assert re.search(narrow, kernel_code)


@needs_cpp_compiler
def test_compiled_integer_sums_add_their_lanes_as_integers_and_float_sums_are_left_alone():
    from torch._inductor.utils import run_and_get_code

    @kernel
    def tallies(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return (x & 3).sum(1, dtype=torch.int32), (x > 5).sum(1), y.sum(1)

    # Rows of 37: whole vectors and a tail, with negative values in the int64 sum's inputs too.
    x, y = torch.arange(-200, 170, dtype=torch.int32).view(10, 37), torch.rand(10, 37)
    with fusing():
        fused, (code,) = run_and_get_code(tallies, x, y)
    for a, b in zip(fused[:2], tallies(x, y)[:2], strict=True):
        assert torch.equal(a, b)  # exact, in any order (no kernel sums floats: their order is not eager's)
    if not cpp_codegen.written_for(torch.__version__):
        return  # the mends are written for another torch: this one's code is inductor's own
    kernel_code = code[code.index('extern "C"') :]
    assert "vec_reduce_all<int32_t" not in kernel_code and "vec_reduce_all<int64_t" not in kernel_code
    assert kernel_code.count("for (auto lane : lanes) sum += lane;") == 2
    assert "vec_reduce_all<float" in kernel_code


@needs_cpp_compiler
def test_a_kernel_first_compiled_for_a_small_batch_shares_its_loops_among_threads():
    # Inductor sizes a kernel's parallelism from its first call; without models.speed.compiler.SIZE_FREE
    # this kernel, first called on 3 x 37 values, had no parallel region at all, and kept none for a million.
    from torch._inductor.utils import run_and_get_code

    @kernel
    def scaled(x: torch.Tensor) -> torch.Tensor:
        return x * 3 + 1

    with fusing():
        _, (code,) = run_and_get_code(scaled, torch.rand(3, 37))
    assert "#pragma omp parallel" in code[code.index('extern "C"') :]


@needs_cpp_compiler
def test_a_fused_batch_compiles_its_kernels_in_its_first_round_only():
    # Rounds 1 and 2 once compiled every kernel again: the state that kernels' outputs replaced had been
    # made outside inference mode (other dispatch keys), and a stream key's offset into its cache moved.
    from torch._dynamo.utils import counters

    batch = _publication_batch(True, "cpu")
    _rounds(batch, 1)
    graphs = counters["stats"]["unique_graphs"]
    _rounds(batch, 4)
    assert counters["stats"]["unique_graphs"] == graphs
