"""What a device call carries: the packages the lent GPU machines lack, packed small, and whether it fits.

A device call sends the working tree (the files git tracks or would track) and the paths it carries, 64 MiB
in all. The packages the GPU image lacks (polars, duckdb and a few small ones; Makefile GPU_WHEELS) are 63
MB as wheels, which left the code about 1 MiB. Installed here for the image's Python and packed as one xz
archive they are about 40 MB, and the GPU machine unpacks them with Python alone (it has no network):

    make gpu-wheels                                                   # here: .whl/site.tar.xz, and the fit
    python3 -m benchmarks.device_carry unpack .whl/site.tar.xz /tmp   # there: the packages in /tmp/site

`make gpu-rehearsal` copies the tree as a call sends it (`copy`) to run the device's command here.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tarfile
from pathlib import Path

LIMIT = 64 * 2**20  # what one device call may send: the working tree and its carried paths together


def sent_files(root: Path, carry: list[str]) -> list[Path]:
    """The files a device call sends from the checkout at `root`, relative to it: those git tracks or would
    track (untracked but not ignored) and that exist, and the carried paths' files, each once."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout.decode()
    files = {Path(name) for name in listed.split("\0") if name}
    for name in carry:
        path = root / name
        found = [path] if path.is_file() else [f for f in path.rglob("*") if f.is_file()]
        files |= {f.relative_to(root) for f in found}
    return sorted(f for f in files if (root / f).is_file() or (root / f).is_symlink())


def carried_bytes(root: Path, carry: list[str]) -> int:
    """The bytes a device call sends from the checkout at `root` with `carry` carried."""
    return sum((root / f).lstat().st_size for f in sent_files(root, carry))  # a link travels as a link


def copy_tree(root: Path, carry: list[str], into: Path) -> int:
    """Copy what a device call sends into the empty or missing folder `into`, as the device gets it; returns
    how many files."""
    if into.exists() and any(into.iterdir()):
        raise FileExistsError(f"{into} is not empty: give a new or empty folder to copy the tree into")
    files = sent_files(root, carry)
    for name in files:
        (into / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, into / name, follow_symlinks=False)
    return len(files)


def pack(site: Path, archive: Path) -> None:
    """`site` (an installed package folder) as one xz archive whose top folder is named `site`."""
    with tarfile.open(archive, "w:xz", preset=6) as tar:
        tar.add(site, arcname="site")


def unpack(archive: Path, into: Path) -> Path:
    """The archive's folder, unpacked under `into` (nothing outside it, no device files) in place of any
    earlier one, whose leftovers could hide a package the archive lacks; returns its path."""
    site = into / "site"
    if site.exists():
        shutil.rmtree(site)
    # Python 3.11.0-3.11.3 lack extraction filters; the archive is this project's own.
    safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
    with tarfile.open(archive, "r:xz") as tar:
        tar.extractall(into, **safe)
    return site


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.device_carry",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verbs = parser.add_subparsers(dest="verb", required=True)
    fits = verbs.add_parser("fits", help="whether the working tree and these carried paths fit one call")
    fits.add_argument("carry", nargs="*", metavar="PATH")
    packing = verbs.add_parser("pack", help="an installed package folder as one xz archive")
    packing.add_argument("site", type=Path)
    packing.add_argument("archive", type=Path)
    copying = verbs.add_parser("copy", help="the working tree and carried paths as a call sends them")
    copying.add_argument("into", type=Path)
    copying.add_argument("carry", nargs="*", metavar="PATH")
    unpacking = verbs.add_parser("unpack", help="an archive of `pack` into a folder")
    unpacking.add_argument("archive", type=Path)
    unpacking.add_argument("into", type=Path)
    args = parser.parse_args(argv)
    if args.verb == "pack":
        pack(args.site, args.archive)
        print(f"{args.archive}: {args.archive.stat().st_size / 2**20:.1f} MiB")
    elif args.verb == "copy":
        try:
            print(f"{copy_tree(Path.cwd(), args.carry, args.into)} files copied into {args.into}")
        except FileExistsError as refused:
            parser.error(str(refused))
    elif args.verb == "unpack":
        print(f"unpacked into {unpack(args.archive, args.into)}")
    else:
        size = carried_bytes(Path.cwd(), args.carry)
        carried = f"the working tree and {' '.join(args.carry)}" if args.carry else "the working tree"
        print(
            f"a device call would send {size / 2**20:.1f} MiB ({carried}) of the {LIMIT // 2**20} MiB allowed"
            + ("" if size <= LIMIT else ": too much, carry less")
        )
        return 0 if size <= LIMIT else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
