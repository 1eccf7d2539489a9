"""The salt of the probes' inputs: unknown before grading, the same for the same submission, new for any change.

A record worked out before grading (with the course library, say) was worked out on unsalted inputs and
fails; tests/test_grading_attacks.py grades such a submission. Here: the pieces, on their own.
"""

from __future__ import annotations

import importlib
import re
import stat

import nbformat
import pytest
import torch

from autograder.executor import SECRET_FILE, grading_secret, submission_salt
from autograder.probes import SALT, salted
from autograder.probes.a3 import init_target
from autograder.probes.a5 import latent_cases
from autograder.probes.record import salted_generator


def _notebook(*sources: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    return nb


def test_seeds_are_themselves_outside_grading_and_mixed_with_the_salt_while_grading(monkeypatch):
    monkeypatch.delenv(SALT, raising=False)
    assert [salted(n) for n in (0, 5, 301)] == [0, 5, 301]
    monkeypatch.setenv(SALT, "a" * 32)
    first = [salted(n) for n in (0, 5, 301)]
    assert len(set(first)) == 3 and not set(first) & {0, 5, 301}
    assert first == [salted(n) for n in (0, 5, 301)]  # the sandbox and the judge draw the same inputs
    monkeypatch.setenv(SALT, "b" * 32)
    assert all(a != b for a, b in zip(first, [salted(n) for n in (0, 5, 301)]))
    a = torch.randn(4, generator=salted_generator(5))
    monkeypatch.setenv(SALT, "a" * 32)
    assert not torch.equal(a, torch.randn(4, generator=salted_generator(5)))


def test_random_answers_are_asked_for_with_salted_sizes_and_thresholds(monkeypatch):
    """Where a right answer is any random draw with the right law (an initialisation, truncated latents), the
    request itself depends on the salt: draws made beforehand have the wrong shapes or thresholds."""
    shapes, thresholds = set(), set()
    for salt in ("1" * 32, "2" * 32, "3" * 32):
        monkeypatch.setenv(SALT, salt)
        shapes.add(tuple(tuple(v.shape) for v in init_target().state_dict().values()))
        thresholds.add(tuple(case[3] for case in latent_cases()))
    assert len(shapes) == 3 and len(thresholds) == 3


def test_the_salt_depends_on_every_cell_and_file_and_on_the_secret_only(tmp_path):
    secret, other = b"s" * 64, b"t" * 64
    folder = tmp_path / "ana"
    folder.mkdir()
    (folder / "helper.py").write_text("X = 1\n")
    nb = _notebook("import torch", "def lerp(a, b, t):\n    return a + t * (b - a)")
    salt = submission_salt(secret, "a3_dcgan", nb, folder)
    assert len(salt) == 32

    copy = tmp_path / "ben"  # the same submission elsewhere, graded again: the same salt
    copy.mkdir()
    (copy / "helper.py").write_text("X = 1\n")
    (copy / "dcgan.ipynb").write_text("notebooks beside it are not copied into the sandbox")
    assert submission_salt(secret, "a3_dcgan", nb, copy) == salt

    assert submission_salt(other, "a3_dcgan", nb, folder) != salt
    assert submission_salt(secret, "a5_mode_collapse", nb, folder) != salt
    assert submission_salt(secret, "a3_dcgan", _notebook("import torch", "def lerp(a, b, t):\n    return a"),
                           folder) != salt
    tagged = _notebook("import torch", "def lerp(a, b, t):\n    return a + t * (b - a)")
    tagged.cells[0].metadata["tags"] = ["skip-execution"]  # the same sources, another run
    assert submission_salt(secret, "a3_dcgan", tagged, folder) != salt
    (folder / "helper.py").write_text("X = 2\n")
    assert submission_salt(secret, "a3_dcgan", nb, folder) != salt
    (folder / "helper.py").write_text("X = 1\n")
    (folder / "records.json").write_text("{}")  # a file added after the salt was learnt changes it
    assert submission_salt(secret, "a3_dcgan", nb, folder) != salt


def test_the_grading_secret_is_made_once_readable_by_its_owner_only(tmp_path):
    first = grading_secret(tmp_path)
    path = tmp_path / SECRET_FILE
    assert len(first) >= 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert grading_secret(tmp_path) == first
    path.write_text("\n")
    with pytest.raises(RuntimeError, match="holds no grading secret"):
        grading_secret(tmp_path)


@pytest.mark.parametrize("name", ["a1", "a2", "a3", "a4", "a5", "a6", "a7", "portfolio"])
def test_no_part_passes_with_a_correct_answers_record_made_before_grading(name, monkeypatch):
    """For every graded part of every assignment: the record of a correct answer, made without the grading
    salt (as a student could make it beforehand), passes the judge without the salt and fails with one. So no
    part's data can be prepared in advance: numbers, random draws, networks, training runs and verdicts alike."""
    from autograder.judges import judge_record
    from autograder.probes.record import Record, probe

    module = importlib.import_module(f"tests.test_grading_{name}")
    answers = module.CORRECT[sorted(module.CORRECT)[0]]
    forgeable = []
    for part, source in answers.items():
        if part in getattr(module, "UNGRADED_CELLS", ()):
            continue
        if part == "train_cgan":
            namespace = module.namespace_until(part, source)
            given = (namespace["train_cgan"], namespace.get("FIX"), namespace.get("ConditionalDiscriminator"))
        else:
            given = (module.define(part, source),)
        monkeypatch.delenv(SALT, raising=False)
        made_before = probe(module.ASSIGNMENT, part, *given).encode()
        verdict = judge_record(module.ASSIGNMENT, part, Record.decode(made_before))
        assert verdict.passed, verdict.message
        monkeypatch.setenv(SALT, "9" * 32)
        if judge_record(module.ASSIGNMENT, part, Record.decode(made_before)).passed:
            forgeable.append(part)
    assert forgeable == [], f"{module.ASSIGNMENT}: records made before grading passed for {forgeable}"


def test_why_a_test_cell_sent_no_probe_data_is_said_in_words():
    """The message a student reads when the hidden test never ran: no dangling ': ' for an error without
    text, and exit() named as such."""
    from nbformat import NotebookNode

    from autograder.judge import missing_reason
    from autograder.probes.record import Record

    def cell(name: str, value: str) -> NotebookNode:
        return NotebookNode(outputs=[NotebookNode(output_type="error", ename=name, evalue=value)])

    assert missing_reason(cell("NotImplementedError", ""), None) == \
        "the visible test failed before the hidden one could run: NotImplementedError"
    assert missing_reason(cell("AssertionError", "shape (4, 1)\nmore"), None).endswith("AssertionError: shape (4, 1)")
    assert "exit()" in missing_reason(cell("SystemExit", "0"), None)
    import torch

    for clash in (lambda: torch.allclose(torch.ones(2, dtype=torch.float64), torch.ones(2)),
                  lambda: torch.allclose(torch.ones(2), torch.ones(2, dtype=torch.float64)),
                  lambda: torch.ones(2, 2) @ torch.ones(2, 2, dtype=torch.float64)):
        try:  # torch's own words when a float64 answer meets a visible test's float32 values
            clash()
        except RuntimeError as error:
            told = missing_reason(cell("RuntimeError", str(error).splitlines()[0]), None)
        assert "return float32 results" in told, told
    assert "float32" not in missing_reason(cell("RuntimeError", "shape mismatch"), None)
    record = Record()
    record.call("forward", lambda: (_ for _ in ()).throw(NotImplementedError()))
    assert re.fullmatch(r"NotImplementedError \(line \d+\)", record.raised("forward"))
    record.call("forward", lambda: [][1])
    assert re.fullmatch(r"IndexError: list index out of range \(line \d+\)", record.raised("forward"))
