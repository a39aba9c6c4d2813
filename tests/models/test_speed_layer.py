"""The speed layer stays a layer: an eager run and the reference steps import none of torch's compiler, an
unsupported torch runs eagerly with a warning, and our fused kernels leave another library's torch.compile
as torch makes it (stock C++, default settings)."""

from __future__ import annotations

import re
import warnings

import pytest
import torch
from helpers import needs_cpp_compiler, run_python

from models import speed
from models.speed import cpp_codegen

# A fresh process: what `import torch` alone imports of torch's compiler, what importing the games'
# reference steps adds (and whether they import the speed layer), then what an eager simulate of each
# game adds.
_EAGER = """
import json, sys

def loaded(*prefixes):
    return sorted(m for m in sys.modules if m.startswith(prefixes))

COMPILER = ("torch._dynamo", "torch._inductor")
import torch
report = {"torch": loaded(*COMPILER)}
import models.games.election.rules
import models.games.publication.rules
report["rules"] = loaded(*COMPILER)
report["rules_speed"] = loaded("models.speed")
from models.games import get_game
from models.learners import resolve_learner
from models.simulate import simulate
for game in ("publication", "election"):
    spec = get_game(game)
    params = spec.params.resolve({spec.scale: 20})
    learners = {role: resolve_learner({}, role) for role in spec.role_shapes(params)}
    metrics = simulate(game, [params], learners, [1], 10)
    report[game] = {"compiler": loaded(*COMPILER), "speed": loaded("models.speed"), "rounds": len(metrics)}
print(json.dumps(report))
"""

# A fresh process: a tiny fused publication batch plays a round (our kernels compile, or load from the
# compile cache); then one function, an int32 add over rows of 64 and their integer sums (the two
# patterns the C++ mends rewrite), is compiled as our kernel and as a user's plain torch.compile, with
# inductor's caches off so that both are written here; the C++ of each and the process-wide settings
# that our kernels patch while they run are reported.
_FUSED = """
import json
import torch
import torch._dynamo.config
import torch.fx.experimental._config
from torch._inductor.cpu_vec_isa import pick_vec_isa
from torch._inductor.utils import run_and_get_code
from models import speed
from models.games import get_game
from models.learners import resolve_learner
from models.simulate import build_batch

def settings():
    return {
        "caching_precompile": torch._dynamo.config.caching_precompile,
        "use_duck_shape": torch.fx.experimental._config.use_duck_shape,
    }

report = {"defaults": settings()}
spec = get_game("publication")
params = spec.params.resolve({"n_researchers": 20})
learners = {role: resolve_learner({}, role) for role in spec.role_shapes(params)}
batch = build_batch("publication", [params], learners, [1])
batch.fused = True
batch.round()
report["after_round"] = settings()

def add_and_sum(x):
    return x + 1, x.sum(1, dtype=torch.int32)

def users_add_and_sum(x):  # the same, another code object: dynamo keeps its compiled code per code object
    return x + 1, x.sum(1, dtype=torch.int32)

x = torch.arange(-100, 156, dtype=torch.int32).view(4, 64)
no_fx_cache = torch._inductor.config.patch(fx_graph_cache=False)
with no_fx_cache, torch._functorch.config.patch(enable_autograd_cache=False):
    with speed.fusing():
        ours, (report["ours"],) = run_and_get_code(speed.kernel(add_and_sum), x)
    report["after_ours"] = settings()
    theirs, (report["theirs"],) = run_and_get_code(torch.compile(users_add_and_sum), x)
report["same"] = all(torch.equal(a, b) for a, b in zip(ours, theirs)) and torch.equal(ours[0], x + 1)
report["lanes"] = pick_vec_isa().bit_width() // 32
report["gave_up"] = speed._unavailable
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def eager() -> dict:
    return run_python(_EAGER)


def test_an_eager_simulate_imports_none_of_torchs_compiler(eager: dict):
    for game in ("publication", "election"):
        assert eager[game]["rounds"] == 10, game
        assert eager[game]["compiler"] == eager["torch"], game  # what `import torch` alone has
        assert eager[game]["speed"] == ["models.speed"], game  # the light part only
    assert not any(name.startswith("torch._inductor") for name in eager["torch"])


def test_the_reference_steps_import_neither_torchs_compiler_nor_the_speed_layer(eager: dict):
    assert eager["rules"] == eager["torch"]
    assert eager["rules_speed"] == []


def test_an_unsupported_torch_runs_the_kernels_eagerly_with_one_warning(monkeypatch: pytest.MonkeyPatch):
    assert speed.torch_supported("2.13.0+cpu") and speed.torch_supported("2.11.1")
    assert not speed.torch_supported("2.12.0") and not speed.torch_supported("3.13.0")
    monkeypatch.setattr(speed.torch, "__version__", "2.99.0+cpu")
    speed._warn_unsupported.cache_clear()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # Work that pays for compiling, twice: the eager path both times, one warning.
            assert not speed.should_fuse("PublicationKernels", 1_000_000, 1000)
            assert not speed.should_fuse("ElectionKernels", 1_000_000, 1000)
    finally:
        speed._warn_unsupported.cache_clear()
    said = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(said) == 1, said
    assert "torch 2.99.0+cpu" in said[0] and all(version in said[0] for version in speed.SUPPORTED_TORCH)

    def no_compile(*args, **kwargs):
        raise AssertionError("compiled under an unsupported torch")

    monkeypatch.setattr(torch, "compile", no_compile)
    monkeypatch.setattr(speed, "_unavailable", [])

    @speed.kernel
    def doubled(x: torch.Tensor) -> torch.Tensor:
        return x * 2

    x = torch.arange(5.0)
    with speed.fusing(), warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning of a failed compile either: none was tried
        assert torch.equal(doubled(x), x * 2)
    assert speed._unavailable == []


@needs_cpp_compiler
def test_our_fused_kernels_leave_another_librarys_torch_compile_as_torch_makes_it():
    fused = run_python(_FUSED)
    assert not fused["gave_up"] and fused["same"]
    # The settings our kernels need hold only while they run.
    assert fused["defaults"] == {"caching_precompile": False, "use_duck_shape": True}
    assert fused["after_round"] == fused["defaults"] and fused["after_ours"] == fused["defaults"]
    # The user's code: stock inductor C++, its whole int32 vectors loaded with a count and its integer
    # sums ending in vec_reduce_all.
    theirs = fused["theirs"][fused["theirs"].index('extern "C"') :]
    counted = rf"Vectorized<int32_t>::loadu\([^;]*, static_cast<int64_t>\({fused['lanes']}\)\)"
    assert re.search(counted, theirs)
    assert "vec_reduce_all<int32_t" in theirs and "for (auto lane : lanes) sum += lane;" not in theirs
    # Ours, the same function compiled as a kernel: the mended forms, where this torch has the mends.
    ours = fused["ours"][fused["ours"].index('extern "C"') :]
    if not cpp_codegen.written_for(torch.__version__):
        assert re.search(counted, ours) and "vec_reduce_all<int32_t" in ours  # stock C++, as theirs
        return
    assert not re.search(counted, ours) and re.search(r"Vectorized<int32_t>::loadu\([^,;]*\);", ours)
    assert "vec_reduce_all<int32_t" not in ours and "for (auto lane : lanes) sum += lane;" in ours


def test_the_cpp_mends_stay_off_on_a_torch_they_were_not_written_for(monkeypatch: pytest.MonkeyPatch):
    assert cpp_codegen.written_for("2.13.0+cpu") and not cpp_codegen.written_for("2.11.0+cu130")
    monkeypatch.setattr(cpp_codegen.torch, "__version__", "2.11.0+cu130")
    monkeypatch.setattr(cpp_codegen, "_applies", [lambda: False])
    assert cpp_codegen.cache_key_options(lambda: True) == {}  # no cache key: stock C++ is written
