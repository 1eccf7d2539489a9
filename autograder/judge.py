"""Turn the probes' data into nbgrader's own points, in a fresh judge process.

``JudgeParts`` is an nbgrader preprocessor placed right after the sandboxed Execute (see
nbgrader_config.py). For a notebook it hands the probe data of every graded part to
``python -m autograder.judges <assignment>``, a new Python process with limits on memory and time,
which has never run student code (the executor starts it when the notebook starts, so that its
imports overlap with the execution). Back come one verdict per part. The preprocessor then rewrites
each test cell's outputs: the cell keeps what it printed, loses any error or stderr output from the
sandbox, and ends with the judge's verdict (an error output when the part failed). nbgrader's
SaveAutoGrades then scores the cells as usual, so the points are nbgrader's own and formgrader,
feedback and export work unchanged.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time

from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer

from autograder.executor import part_of, renderable
from autograder.probes import SALT

MB = 2**20


def _limit_judge(memory_mb: int, cpu_seconds: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_DATA, (memory_mb * MB, memory_mb * MB))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    return apply


def _first_line(text: str) -> str:
    return (text or "").strip().splitlines()[0][:300] if (text or "").strip() else ""


# torch's words when float32 and float64 tensors meet (an other-style student's float64 answers failed the visible
# tests with "Double did not match Float", which does not say what to change)
MIXED_PRECISION = ("Double did not match Float", "Float did not match Double", "expected scalar type Float but found "
                   "Double", "expected scalar type Double but found Float", "expected m1 and m2 to have the same dtype")


def _dtype_hint(message: str) -> str:
    if not any(words in str(message) for words in MIXED_PRECISION):
        return ""
    return (" (float32 and float64 tensors met: the tests give float32 inputs, so return float32 results, e.g. "
            "with .to(x.dtype) on a value you computed in float64)")


def missing_reason(cell: NotebookNode, stopped: str | None) -> str:
    """Why a test cell sent no probe data, from what the cell showed."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            name, value = output.get("ename", "Error"), _first_line(output.get("evalue", ""))
            if name in ("KernelDied", "KernelStopped"):
                return value
            if name == "CellTimeoutError":
                return "the test cell ran past the time limit"
            if name == "SystemExit":
                return "exit() or sys.exit() was called before the grader's probe could run"
            raised = f"{name}: {value}" if value else name
            return f"the visible test failed before the hidden one could run: {raised}{_dtype_hint(value)}"
    if stopped:
        return f"the cell was not run: {stopped}"
    return "the test cell did not reach the grader's probe"


MAX_VERDICT_CHARS = 2000


def verdict_message(message) -> str:
    """A verdict's message as it goes into the notebook, the feedback and the report: at most ``MAX_VERDICT_CHARS``,
    ``renderable``. A judge quotes what a probe recorded (an error's message, a type's name), which a submission
    can forge: 20 MB of it made a 100-MB feedback page, and a lone surrogate in it ended the notebook's grading after
    the run (a thirteenth outside pass)."""
    message = renderable(str(message).encode("utf-8", "replace").decode("utf-8"))  # no lone surrogate
    if len(message) > MAX_VERDICT_CHARS:
        message = f"{message[:MAX_VERDICT_CHARS]} ... (cut: {len(message) - MAX_VERDICT_CHARS:,} more characters)"
    return message


def _shown(output: NotebookNode) -> NotebookNode:
    """An output of a graded test cell as it stays in the notebook. nbgrader scores such a cell by its first
    error or ``execute_result`` (a number there is partial credit, anything else full marks), and code run in
    the cell's turn (an IPython hook, say) can make one: a result is kept as a plain display, so that the
    judge's verdict alone decides the points."""
    if output.get("output_type") != "execute_result":
        return output
    return NotebookNode(output_type="display_data", data=output.get("data", {}), metadata=output.get("metadata", {}))


class JudgeParts(NbGraderPreprocessor):
    """Decide every graded code cell's outcome from its probe data, in ``python -m autograder.judges``."""

    memory_mb = Integer(4096, help="memory the judge process may use").tag(config=True)
    cpu_seconds = Integer(600, help="CPU seconds the judge process may use").tag(config=True)

    def preprocess(self, nb, resources):
        store = resources.get("gancourse")
        if store is None:  # not a sandboxed assignment
            return nb, resources
        assignment = resources["nbgrader"]["assignment"]
        probes = store.get("probes", {})
        process = store.pop("judge", None)
        if probes:
            verdicts = self._judge(process, assignment, probes, store.get("salt", ""))
        else:
            verdicts = {}
            if process is not None:
                process.kill()
                process.wait()
        for cell in nb.cells:
            part = part_of(cell)
            if part is None:
                continue
            if part in verdicts:
                passed, message = verdicts[part]["passed"], verdict_message(verdicts[part]["message"])
            else:
                passed, message = False, f"[{part}] no points: {missing_reason(cell, store.get('stopped'))}."
            kept = [_shown(o) for o in cell.get("outputs", []) if o.get("output_type") not in ("error",)
                    and not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
            if passed:
                kept.append(NotebookNode(output_type="stream", name="stdout", text=message + "\n"))
            else:
                kept.append(NotebookNode(output_type="error", ename="GradingFailure", evalue=message,
                                         traceback=[f"GradingFailure: {message}"]))
            cell.outputs = kept
        return nb, resources

    def _judge(self, process: subprocess.Popen | None, assignment: str, probes: dict, salt: str) -> dict:
        process = process or start_judge(assignment, self.memory_mb, self.cpu_seconds, salt)
        try:
            out, err = process.communicate(json.dumps(probes), timeout=2 * self.cpu_seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            return {part: {"passed": False, "message": f"[{part}] the grader ran out of time judging this "
                           "part's data."} for part in probes}
        try:
            return json.loads(out)
        except json.JSONDecodeError:
            self.log.error("The judge failed (exit %s): %s", process.returncode, err[-2000:])
            return {part: {"passed": False, "message": f"[{part}] the grader could not judge this part "
                           "(the judge process failed; your instructor has the log)."} for part in probes}


PRELOADED = "autograder.judges.preload"  # imported by the grading command's fork server only


def start_judge(assignment: str, memory_mb: int = 4096, cpu_seconds: int = 600, salt: str = ""):
    """A fresh judge process for one notebook; it imports while the notebook runs, then waits for the data.
    ``salt`` is the submission's (autograder/executor.py): the judge draws its inputs as the probes did.

    Under the grading command, whose fork server has imported the judges (autograder/judges/preload.py), the
    judge is a fork of this nbgrader process (:class:`ForkedJudge`); elsewhere (formgrader's own autograde,
    say) it is ``python -m autograder.judges``. Either way it has never run student code: the notebook runs
    in the sandboxed kernel, never in this process."""
    if PRELOADED in sys.modules:
        return ForkedJudge(assignment, memory_mb, cpu_seconds, salt)
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env[SALT] = salt
    return subprocess.Popen([sys.executable, "-m", "autograder.judges", assignment], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=_limit_judge(memory_mb, cpu_seconds))



class ForkedJudge:
    """``python -m autograder.judges <assignment>`` as a fork of this process, which has imported the judges:
    the same limits, salt, one torch thread, data in on a pipe and verdicts out; the parts of
    ``subprocess.Popen`` that :class:`JudgeParts` uses (``communicate``, ``kill``, ``wait``, ``returncode``)."""

    def __init__(self, assignment: str, memory_mb: int, cpu_seconds: int, salt: str) -> None:
        pipes = [os.pipe() for _ in range(3)]  # data in, verdicts out, errors out
        for stream in (sys.stdout, sys.stderr):  # nothing buffered here may come out twice
            stream.flush()
        self.pid = os.fork()
        if self.pid == 0:
            self._judge(assignment, memory_mb, cpu_seconds, salt, pipes)
        os.close(pipes[0][0])
        os.close(pipes[1][1])
        os.close(pipes[2][1])
        self._data, self._verdicts, self._errors = pipes[0][1], pipes[1][0], pipes[2][0]
        self._unclaimed = {self._data, self._verdicts, self._errors}  # closed by wait() unless a thread owns them
        self.returncode: int | None = None

    @staticmethod
    def _judge(assignment: str, memory_mb: int, cpu_seconds: int, salt: str, pipes) -> None:
        code = 1
        try:
            (data, data_w), (verdicts_r, verdicts), (errors_r, errors) = pipes
            for fd in (data_w, verdicts_r, errors_r):
                os.close(fd)
            sys.stdin, sys.stdout, sys.stderr = (open(data), open(verdicts, "w"), open(errors, "w"))
            os.environ.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", **{SALT: salt})
            _limit_judge(memory_mb, cpu_seconds)()
            from autograder.judges.__main__ import main

            code = main([assignment])
            sys.stdout.flush()
        except BaseException:  # noqa: BLE001 - told through stderr and the exit code
            import traceback

            traceback.print_exc()
            sys.stderr.flush()
        finally:
            os._exit(code)

    def communicate(self, text: str, timeout: float | None = None) -> tuple[str, str]:
        got: dict[str, str] = {}

        def send() -> None:
            with open(self._claim(self._data), "w") as pipe:
                try:
                    pipe.write(text)
                except BrokenPipeError:  # the judge died before reading it all
                    pass

        def read(fd: int, key: str) -> None:
            with open(self._claim(fd)) as pipe:
                got[key] = pipe.read()

        threads = [threading.Thread(target=send, daemon=True),
                   threading.Thread(target=read, args=(self._verdicts, "out"), daemon=True),
                   threading.Thread(target=read, args=(self._errors, "err"), daemon=True)]
        for thread in threads:
            thread.start()
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        if any(thread.is_alive() for thread in threads):
            raise subprocess.TimeoutExpired("judge", timeout)
        self.wait()
        return got.get("out", ""), got.get("err", "")

    def _claim(self, fd: int) -> int:
        self._unclaimed.discard(fd)
        return fd

    def kill(self) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def wait(self) -> int:
        if self.returncode is None:
            self.returncode = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        while self._unclaimed:  # a judge killed before communicate(): its pipes end here
            os.close(self._unclaimed.pop())
        return self.returncode
