"""What a device call carries (benchmarks/device_carry.py): the size the device tool counts, and the packed
packages round trip to the same files."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from benchmarks import device_carry
from benchmarks.device_carry import carried_bytes, copy_tree, pack, unpack


def write(root: Path, name: str, size: int) -> None:
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_bytes(bytes(range(256)) * (size // 256) + b"x" * (size % 256))


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("/.whl/\n/big\n")  # 12 bytes, untracked but not ignored: sent
    write(tmp_path, "tracked.py", 100)
    subprocess.run(["git", "add", "tracked.py"], cwd=tmp_path, check=True)
    write(tmp_path, "new.py", 10)  # untracked, not ignored: sent
    write(tmp_path, "big", 10_000)  # ignored: stays
    write(tmp_path, ".whl/a.whl", 1_000)
    write(tmp_path, ".whl/sub/b.whl", 2_000)
    return tmp_path


def test_a_call_sends_the_tree_git_sees_and_the_carried_paths_each_file_once(checkout: Path) -> None:
    assert carried_bytes(checkout, []) == 12 + 100 + 10
    assert carried_bytes(checkout, [".whl"]) == 12 + 100 + 10 + 3_000
    assert carried_bytes(checkout, [".whl", ".whl/a.whl", "tracked.py"]) == 12 + 100 + 10 + 3_000
    write(checkout, "gone.py", 5)
    subprocess.run(["git", "add", "gone.py"], cwd=checkout, check=True)
    (checkout / "gone.py").unlink()  # tracked, deleted from the working tree: nothing to send
    assert carried_bytes(checkout, []) == 12 + 100 + 10


def test_the_copied_tree_is_what_a_call_sends(checkout: Path, tmp_path_factory) -> None:
    there = tmp_path_factory.mktemp("device") / "tree"
    assert copy_tree(checkout, [".whl"], there) == 5
    copied = {p.relative_to(there).as_posix(): p.read_bytes() for p in there.rglob("*") if p.is_file()}
    assert sorted(copied) == [".gitignore", ".whl/a.whl", ".whl/sub/b.whl", "new.py", "tracked.py"]
    assert all(copied[name] == (checkout / name).read_bytes() for name in copied)
    with pytest.raises(FileExistsError, match="is not empty"):
        copy_tree(checkout, [], there)  # never mixed with what an earlier copy left


def test_fits_says_what_would_be_sent_and_fails_past_the_limit(checkout: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(checkout)
    assert device_carry.main(["fits", ".whl"]) == 0
    assert "send 0.0 MiB (the working tree and .whl) of the 64 MiB allowed" in capsys.readouterr().out
    monkeypatch.setattr(device_carry, "LIMIT", 3_000)
    assert device_carry.main(["fits", ".whl"]) == 1
    said = capsys.readouterr().out
    assert "too much, carry less" in said and "the working tree and .whl" in said


def test_packed_packages_unpack_to_the_same_files(tmp_path: Path) -> None:
    site = tmp_path / "built" / "site"
    write(site, "polars/__init__.py", 300)
    write(site, "polars/lib.so", 70_000)
    write(site, "polars-1.0.dist-info/RECORD", 50)
    archive = tmp_path / "site.tar.xz"
    pack(site, archive)
    assert archive.stat().st_size < 70_000  # xz finds the repeats
    write(tmp_path / "there", "site/left/over.py", 10)  # an earlier unpack's: gone
    unpacked = unpack(archive, tmp_path / "there")
    assert unpacked == tmp_path / "there" / "site"
    before = sorted((p.relative_to(site), p.read_bytes()) for p in site.rglob("*") if p.is_file())
    after = sorted((p.relative_to(unpacked), p.read_bytes()) for p in unpacked.rglob("*") if p.is_file())
    assert before == after and len(after) == 3


def test_the_device_command_in_the_docs_is_the_one_the_rehearsal_runs() -> None:
    root = Path(__file__).resolve().parents[2]

    def words(text: str) -> str:
        return " ".join(text.replace("\\\n", " ").split())

    made = re.search(r"^GPU_CHECK_COMMAND := (.*?\n)(?!\t)", (root / "Makefile").read_text(), re.S | re.M)
    documented = re.search(
        r"```sh\n(python3 -m benchmarks\.device_carry .*?)```", (root / "docs/gpu.md").read_text(), re.S
    )
    assert made and documented
    assert words(documented[1]) == words(made[1]).replace("$$", "$")
    assert "--budget" in documented[1] and ".whl/site.tar.xz" in documented[1]
