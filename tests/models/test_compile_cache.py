"""The compile cache: a later process loads the kernels an earlier one compiled, and gets the same numbers."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import pytest
from helpers import needs_cpp_compiler, run_python

import models
from models import speed
from models.speed import compile_cache, worth_fusing

# One process of the test: the cache in its own directory, a fused publication batch for 3 rounds, then,
# where asked, a fused election batch (the learners' kernels compile again there for its roles). It
# reports what the cache held before and after, dynamo's cache counters and graphs, and the numbers.
_PROCESS = """
import json, sys
from pathlib import Path
import torch
from models import speed
from models.speed import compile_cache
compile_cache._root = lambda: Path(sys.argv[1])
from torch._dynamo.utils import counters
from models.learners import resolve_learner
from models.games import get_game
from models.simulate import build_batch

def play(game, size, fused):
    params = get_game(game).params.resolve(size)
    roles = get_game(game).role_shapes(params)
    batch = build_batch(game, [params] * 3, {role: resolve_learner({}, role) for role in roles}, [1, 2, 3])
    batch.fused = fused
    with torch.inference_mode():
        tallies = [vars(batch.round().tallies) for _ in range(3)]
    def plain(v):  # NaN (an undefined mean) as a number, so that equal lists compare equal
        return v.nan_to_num(nan=-1234.5).tolist() if isinstance(v, torch.Tensor) else v

    return [{k: plain(v) for k, v in t.items()} for t in tallies]

held = compile_cache.holds("PublicationKernels")
fused = play("publication", {"n_researchers": 37}, True)
report = {
    "held_before": held,
    "held_after": compile_cache.holds("PublicationKernels"),
    "cache": dict(counters["dynamo_cache"]),
    "graphs": counters["stats"]["unique_graphs"],
    "same_as_eager": fused == play("publication", {"n_researchers": 37}, False),
}
if sys.argv[2] == "election":
    report["election_same_as_eager"] = play("election", {"n_voters": 50}, True) == play(
        "election", {"n_voters": 50}, False
    )
report["gave_up"] = speed._unavailable
report["code_key"] = compile_cache.code_key()
print(json.dumps(report))
"""


def _process(directory: Path, then: str = "") -> dict:
    return run_python(_PROCESS, str(directory), then)


@needs_cpp_compiler
def test_a_later_process_loads_the_compiled_kernels_and_gets_the_same_numbers(tmp_path: Path):
    first = _process(tmp_path)
    assert not first["held_before"] and first["held_after"]
    assert first["cache"].get("dynamo_cache_miss", 0) >= 4 and first["graphs"] >= 4  # traced here
    assert first["same_as_eager"] and not first["gave_up"]
    # The later process traces nothing: every kernel comes from the cache. Its election batch then has
    # the loaded learners' kernels compile again for its roles, which once failed on a global's name
    # that the loaded kernels had taken.
    later = _process(tmp_path, "election")
    assert later["held_before"]
    assert later["cache"].get("dynamo_cache_hit", 0) == first["cache"]["dynamo_cache_miss"]
    assert "dynamo_cache_miss" not in later["cache"]
    assert later["same_as_eager"] and later["election_same_as_eager"] and not later["gave_up"]
    assert [path.name for path in tmp_path.iterdir()] == [first["code_key"]] == [later["code_key"]]


def test_the_cache_is_named_by_the_models_code_torch_and_the_cpu(monkeypatch: pytest.MonkeyPatch):
    key = compile_cache.code_key()
    assert len(key) == 16 and compile_cache.directory().name == key
    compile_cache.code_key.cache_clear()
    monkeypatch.setattr(compile_cache.torch, "__version__", "0.0.0")
    try:
        assert compile_cache.code_key() != key
    finally:
        compile_cache.code_key.cache_clear()


def test_fusing_pays_for_smaller_batches_once_their_kernels_are_cached():
    # Compiling costs 20-24 s on 2 cores and loading 3-4 s (models.speed): 100,000 researchers for a
    # 1,000-round study pay only for loading.
    assert not worth_fusing(100_000, 1000) and worth_fusing(100_000, 1000, cached=True)
    assert worth_fusing(1000 * 1000, 500) and not worth_fusing(25 * 100, 1000, cached=True)
    assert speed.FUSE_MIN_AGENT_ROUNDS_CACHED["cpu"] < speed.FUSE_MIN_AGENT_ROUNDS["cpu"]


def test_only_a_batch_on_an_accelerated_engine_is_fused_and_marks_that_engines_kernels(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch on the reference rules runs eagerly: fusing it would compile nothing that a cache entry
    stands for. A batch on an accelerated engine marks that engine's kernels, by its name: the effort
    model's kernels are not the rigor model's, and a batch of one must not believe it loads the other's."""
    from models import simulate
    from models.games import get_game
    from models.games.publication.study_kernels import PublicationStudyKernels
    from models.learners import resolve_learner

    kept: list[str] = []
    monkeypatch.setattr(speed, "should_fuse", lambda *args: True)  # as for a batch large enough
    monkeypatch.setattr(speed, "fusing", lambda enabled=True: nullcontext())  # without compiling here
    monkeypatch.setattr(speed, "keep_compiled", lambda kernels, device: kept.append(kernels))
    spec = get_game("publication")
    effort = spec.params.resolve({"preset": "smaldino_mcelreath_2016", "n_researchers": 20})
    learners = {"researcher": resolve_learner({}, "researcher")}
    defaults = spec.params.resolve({"n_researchers": 20})
    assert simulate.build_batch("publication", [defaults], learners, [0]).kernels == "PublicationKernels"
    # The studies kernels compile a graph per configuration, and are cached by it.
    named = "PublicationStudyKernels-actions-1journals"
    assert simulate.build_batch("publication", [effort], learners, [0]).kernels == named
    evolving = {"researcher": resolve_learner({"kind": "evolution"}, "researcher")}
    traits = named.replace("actions", "traits")
    assert simulate.build_batch("publication", [effort], evolving, [0]).kernels == traits
    simulate.play("publication", [effort], learners, [0], rounds=2)
    assert kept == [named]
    monkeypatch.setattr(PublicationStudyKernels, "supports", classmethod(lambda cls, params: False))
    assert not simulate.build_batch("publication", [effort], learners, [0]).on_kernels
    simulate.play("publication", [effort], learners, [0], rounds=2)
    assert kept == [named]


def test_a_cache_that_cannot_be_written_warns_and_marks_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    blocked = tmp_path / "a file, not a directory"
    blocked.write_text("")
    monkeypatch.setattr(compile_cache, "_root", lambda: blocked)
    with pytest.warns(RuntimeWarning, match="could not keep the compiled kernels"):
        compile_cache.save("PublicationKernels")
    assert not compile_cache.holds("PublicationKernels")


def test_the_cache_key_reads_every_source_file_of_the_models_package(monkeypatch: pytest.MonkeyPatch):
    # The kernels call code all over `models` (the games' rules, the learners, the mends in models/speed):
    # an edit of any of it must start a new cache.
    read = []
    read_bytes = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda path: read.append(path) or read_bytes(path))
    compile_cache.code_key.cache_clear()
    try:
        compile_cache.code_key()
    finally:
        compile_cache.code_key.cache_clear()
    package = Path(models.__file__).resolve().parent
    assert set(read) == set(package.rglob("*.py"))
    assert {package / "speed" / "cpp_codegen.py", package / "games" / "publication" / "rules.py"} <= set(read)
