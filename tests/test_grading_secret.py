"""The course's grading secret is made by whichever grading runs first. With `--jobs 2` on a fresh course
two students start at once (stop 24's CI: the second read the file while the first was still writing it,
and that student's grading failed); every concurrent first grading must read the same, whole secret."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from autograder.executor import SECRET_FILE, grading_secret


def _read_after(barrier, root: str, out) -> None:
    barrier.wait()
    try:
        out.put(grading_secret(Path(root)).decode())
    except Exception as error:  # noqa: BLE001 - reported to the test
        out.put(f"error: {error}")


@pytest.mark.parametrize("round_", range(25))
def test_concurrent_first_gradings_all_read_one_whole_secret(tmp_path, round_):
    context = multiprocessing.get_context("fork")
    workers = 6
    barrier, out = context.Barrier(workers), context.Queue()
    procs = [context.Process(target=_read_after, args=(barrier, str(tmp_path), out)) for _ in range(workers)]
    for proc in procs:
        proc.start()
    seen = [out.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
    assert not [s for s in seen if s.startswith("error")], seen
    assert len(set(seen)) == 1 and len(seen[0]) == 64, seen
    assert (tmp_path / SECRET_FILE).stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == [SECRET_FILE], "no temporary file is left behind"


def test_an_empty_secret_file_is_still_refused(tmp_path):
    (tmp_path / SECRET_FILE).write_text("")
    with pytest.raises(RuntimeError, match="holds no grading secret"):
        grading_secret(tmp_path)
