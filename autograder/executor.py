"""nbgrader's Execute, with the kernel in a sandbox and the probes' data collected for the judge.

``SandboxedExecute`` replaces nbgrader's ``Execute`` in ``Autograde.autograde_preprocessors`` (see
nbgrader_config.py). For every notebook it

* starts the kernel inside a :class:`~autograder.sandbox.Sandbox` (bubblewrap, Unix sockets);
* limits what the kernel may print: at most ``max_cell_output`` bytes a cell and
  ``max_output`` a notebook are kept, the rest is dropped with a note;
* takes the grader's probe data out of each test cell's outputs (a display message of type
  ``PROBE_MIME``) into ``resources["gancourse"]["probes"]``, where :class:`~autograder.judge.JudgeParts`
  finds it. Probe data shown by any other cell is thrown away;
* after each test cell, puts that part's library counterpart back into the sandbox's library, so a
  later part can be run with the grader's reference for it;
* salts the probes: the kernel and the judge get the submission's salt (:func:`submission_salt`), with
  which every probe input is drawn (``autograder.probes.salted``), so that no record can be worked out
  before the submission is graded;
* survives a kernel that dies (memory, CPU time, ``os._exit``), stops answering after a timeout, or sends a
  message the grader cannot read (``UnreadableMessage``):
  the cell gets an error saying so, the cells after it are not run, and the notebook is still saved,
  so that every part gets its grade.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
import threading
from pathlib import Path
from queue import Empty
from time import monotonic

import nbformat
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import ensure_async, run_sync
from nbclient.client import timestamp
from nbclient.exceptions import CellControlSignal, CellExecutionComplete, CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbformat.validator import NotebookValidationError
from nbgrader.preprocessors import Execute
from nbgrader.utils import is_grade
from traitlets import Bool, Enum, Integer

from autograder.grade import KERNEL_OUTPUT
from autograder.probes import SALT
from autograder.sandbox import Sandbox, submission_entries

PROBE_MIME = "application/vnd.gancourse.probe+json"
SECRET_FILE = ".grading_secret"  # in the course root, which the sandbox never mounts


def grading_secret(root: Path) -> bytes:
    """The course's grading secret: ``<course root>/.grading_secret``, made (random, readable by its owner
    only) the first time a submission is graded. Keep it for the whole term: it makes reruns agree."""
    path = root / SECRET_FILE
    if not path.exists():
        # Written whole to a private temporary file, then linked into place: gradings that start at once
        # (--jobs N on a fresh course) see no secret or the whole one, never an empty file; one link wins.
        fd, temporary = tempfile.mkstemp(dir=root, prefix=SECRET_FILE + ".")  # mode 0600
        try:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32) + "\n")
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    secret = path.read_text().strip()
    if len(secret) < 32:
        raise RuntimeError(f"{path} holds no grading secret: delete it, and the next grading makes a new one")
    return secret.encode()


def submission_salt(secret: bytes, assignment: str, nb: NotebookNode, folder: Path | None) -> str:
    """The salt of one submission: an HMAC, keyed with the course's secret, of the assignment, the notebook's
    metadata, every cell of it (type, source and metadata: a tag decides whether a cell runs) and every file
    beside it that the sandbox may copy (name and content).

    A change anywhere in what the student's code can see changes the salt, and no one without the secret can
    compute it; the same submission graded again gets the same salt, so its grades are the same.
    """
    content = hashlib.sha256(assignment.encode() + b"\0")
    content.update(json.dumps(nb.metadata, sort_keys=True, default=str).encode() + b"\0")
    for cell in nb.cells:
        content.update(json.dumps([cell.cell_type, cell.source, cell.get("metadata", {})], sort_keys=True,
                                  default=str).encode() + b"\0")
    if folder is not None and folder.is_dir():
        for relative, path in submission_entries(folder):
            kind = "link" if path.is_symlink() else "file" if path.is_file() else "other"
            # the name's own bytes: a name that is not UTF-8 had raised here and zeroed the student
            content.update(f"{kind}:".encode() + os.fsencode(relative) + b"\0")
            if kind == "file":
                with path.open("rb") as handle:
                    content.update(hashlib.file_digest(handle, "sha256").digest())
    return hmac.new(secret, content.digest(), hashlib.sha256).hexdigest()[:32]


def part_of(cell: NotebookNode) -> str | None:
    """The part a graded test cell checks: its grade_id without the ``test_`` prefix."""
    if cell.cell_type != "code" or not is_grade(cell):
        return None
    grade_id = cell.metadata["nbgrader"]["grade_id"]
    return grade_id[5:] if grade_id.startswith("test_") else grade_id


KERNEL_LOG_BYTES = 64 * 1024  # of a kernel's own output, kept in the grading log; the rest is counted only


def relay_kernel_output(fd: int, log) -> None:
    """Copy what a sandboxed kernel writes to its stdout and stderr into ``log``, each line marked as the
    kernel's and shown as its repr (no line of it can pass for one of the grader's), up to KERNEL_LOG_BYTES."""
    kept = dropped = 0
    with open(fd, "rb", buffering=0) as pipe:
        pending = b""
        while chunk := pipe.read(65536):
            if kept >= KERNEL_LOG_BYTES:
                dropped += len(chunk)
                continue
            pending += chunk
            *lines, pending = pending.split(b"\n")
            if len(pending) > 4096:  # a long run without a newline is logged in pieces
                lines, pending = lines + [pending], b""
            for line in lines:
                if kept < KERNEL_LOG_BYTES:
                    log.info(KERNEL_OUTPUT + "%r", line[:2000].decode("utf-8", "replace"))
                kept += len(line) + 1
        if pending and kept < KERNEL_LOG_BYTES:
            log.info(KERNEL_OUTPUT + "%r", pending[:2000].decode("utf-8", "replace"))
    if dropped or kept > KERNEL_LOG_BYTES:
        log.warning(KERNEL_OUTPUT + "%d more bytes not logged", dropped + max(0, kept - KERNEL_LOG_BYTES))


class UnreadableMessage(Exception):
    """A message of the kernel that the grader's session could not read: refused (its signature, its frames) or not
    parsed (JSON nested 200,000 deep overflowed the parser's stack and ended the whole notebook's grading)."""


class TooManyMessages(Exception):
    """A kernel that sent more output messages than any honest notebook does. Each is checked and parsed in the
    grader's own process, whoever it answers: 30 s of a cell sending messages that answer nothing cost the grader
    23-33 CPU-seconds (an outside tester's eighth pass)."""


MESSAGE_PARTS = ("header", "parent_header", "metadata", "content")
MAX_MESSAGE_DEPTH = 100  # of the JSON of a message: Jupyter's own messages and honest outputs are a few levels deep
MESSAGE_TYPE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
SURROGATE = re.compile("[\ud800-\udfff]")
# an escape sequence as nbconvert's ansi2html finds one, or an escape character that starts none
ESCAPE = re.compile("\x1b\\[(.*?)([@-~])|\x1b")
COLOUR_PARAMETERS = re.compile(r"[0-9;]*")
MAX_ESCAPES = 1000  # colour codes kept in one text of an output


def renderable(text: str) -> str:
    """``text`` of an output as nbconvert can render it into the feedback and formgrader's pages: only plain colour
    codes kept (at most ``MAX_ESCAPES``). ansi2html fails on a colour code 38 or 48 without its colour
    (``\\x1b[38m``: no feedback page for that student, and generate_feedback's exit 1 for the class) and takes time
    quadratic in the number of codes (a thirteenth outside pass). A kernel's lone surrogates never get this far: the
    session refuses them (``_unwritable``)."""
    kept = 0

    def colour(match: re.Match) -> str:
        nonlocal kept
        if match.group(2) != "m" or not COLOUR_PARAMETERS.fullmatch(match.group(1)) or kept >= MAX_ESCAPES:
            return ""
        if {"38", "48"} & set(match.group(1).split(";")):
            return ""
        kept += 1
        return match.group(0)
    return ESCAPE.sub(colour, text) if "\x1b" in text else text


def _renderable_output(output: NotebookNode) -> None:
    """The texts of one output made ``renderable``, in place."""
    for key in ("text", "ename", "evalue"):
        if isinstance(output.get(key), str):
            output[key] = renderable(output[key])
    if isinstance(output.get("traceback"), list):
        output["traceback"] = [renderable(line) if isinstance(line, str) else line for line in output["traceback"]]
    data = output.get("data")
    if isinstance(data, dict) and isinstance(data.get("text/plain"), str | list):
        plain = data["text/plain"]
        data["text/plain"] = renderable(plain) if isinstance(plain, str) else \
            [renderable(line) if isinstance(line, str) else line for line in plain]


def _unwritable(part, depth: int = 0) -> str | None:
    """Why a parsed part of a message could not go into a notebook, or None. The libraries after the grader's
    session recurse into what a message holds (nbformat built 600 nested dicts with two frames a level, and the
    RecursionError ended the notebook's grading), and the notebook is written as UTF-8, which a lone surrogate
    (sent as a JSON escape) cannot be (a twelfth outside pass)."""
    if depth > MAX_MESSAGE_DEPTH:
        return f"nested over {MAX_MESSAGE_DEPTH} levels deep"
    if isinstance(part, str):
        return "a lone surrogate in a string" if SURROGATE.search(part) else None
    items = part.items() if isinstance(part, dict) else enumerate(part) if isinstance(part, list) else ()
    for key, value in items:
        why = _unwritable(key, depth + 1) if isinstance(key, str) else None
        if why is None and isinstance(value, dict | list | str):
            why = _unwritable(value, depth + 1)
        if why:
            return why
    return None


def refusing_unreadable(deserialize, max_json: int):
    """The session's ``deserialize``, raising ``UnreadableMessage`` for whatever it cannot read: a message refused
    (its signature, its frames), not parsed, whose parts are not mappings, or whose JSON parts are together over
    ``max_json`` bytes. That last is checked before anything is parsed: 75 MB of empty JSON lists grew to 1.8 GB in
    the grader once parsed, and the parse holds the interpreter, so the watch (``Limits.received_mb``) could not stop
    it in time (an outside tester's). Binary buffers are not parsed; the watch counts them."""
    @functools.wraps(deserialize)
    def read(msg_list, *args, **kwargs):
        size = sum(len(frame) for frame in msg_list[1:5])
        if size > max_json:
            raise UnreadableMessage(f"{size / 1e6:.0f} MB of JSON in one message, over the limit of "
                                    f"{max_json / 1e6:.0f} MB")
        try:
            message = deserialize(msg_list, *args, **kwargs)
        except Exception as err:  # noqa: BLE001 - anything a kernel sends is named, and the grading goes on
            raise UnreadableMessage(f"{type(err).__name__}: {str(err)[:120]}") from None
        wrong = [part for part in MESSAGE_PARTS if not isinstance(message.get(part), dict | bytes)]
        if wrong:  # content stays bytes where the caller asked for it unparsed
            raise UnreadableMessage(f"its {', '.join(wrong)} not a mapping")
        msg_type = message["header"].get("msg_type")
        if not (isinstance(msg_type, str) and MESSAGE_TYPE.fullmatch(msg_type)):
            # nbclient logs an unknown type whole: twenty types of 5 MB each grew one student's log to 100 MB
            raise UnreadableMessage(f"its message type is not a short name ({str(msg_type)[:40]!r}...)")
        for part in MESSAGE_PARTS:
            why = _unwritable(message[part])
            if why:
                raise UnreadableMessage(f"its {part}: {why}")
        return message
    return read


def refusing_unsplittable(feed_identities):
    """The session's ``feed_identities``, raising ``UnreadableMessage`` for frames it cannot split: a message sent
    without its ``<IDS|MSG>`` delimiter frame raised a bare ``ValueError`` there, before ``deserialize`` was called,
    which ended the notebook's grading, earlier parts' points with it (an eleventh outside pass)."""
    @functools.wraps(feed_identities)
    def split(msg_list, *args, **kwargs):
        try:
            return feed_identities(msg_list, *args, **kwargs)
        except Exception as err:  # noqa: BLE001 - as in refusing_unreadable
            raise UnreadableMessage(f"no delimiter frame ({type(err).__name__})") from None
    return split


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel runs inside ``self.sandbox`` and listens on Unix sockets."""

    sandbox: Sandbox | None = None
    salt: str = ""
    max_message: int = 24_000_000  # bytes of JSON in one message (SandboxedExecute.max_message)

    def client(self, **kwargs):
        client = super().client(**kwargs)  # with a clone of this manager's session, which every channel reads with
        client.session.deserialize = refusing_unreadable(client.session.deserialize, self.max_message)
        client.session.feed_identities = refusing_unsplittable(client.session.feed_identities)
        return client

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw):
        assert self.sandbox is not None
        folder = kw.pop("cwd", None)
        self.skipped = self.sandbox.copy_submission(Path(folder)) if folder else []
        for item in self.skipped:
            self.log.warning("Left out of the sandbox: %s", item)
        self.sandbox.make_readable(Path(self.connection_file))
        inner = list(kernel_cmd)
        env = {k: v for k, v in (kw.pop("env", None) or {}).items() if k == "NBGRADER_EXECUTION"}
        env[SALT] = self.salt
        command = self.sandbox.command(inner, env)
        # A signal would reach bubblewrap, not the kernel: interrupt through the control channel instead.
        self.kernel_spec.interrupt_mode = "message"
        # The kernel's own stdout and stderr: a pipe whose lines reach the grading log marked as the kernel's, never
        # the log file itself (which a kernel holding it could write lines into that look like the grader's).
        read_end, write_end = os.pipe()
        kw.update(stdout=write_end, stderr=write_end)
        try:
            connection = await super()._async_launch_kernel(command, cwd=str(self.sandbox.box),
                                                            env={"PATH": "/usr/bin:/bin"}, **kw)
            self.sandbox.start_watch(self.provisioner.process.pid)
            bound = self.sandbox.limits.total_memory_mb
            self.log.info("The kernel runs in the sandbox %s", self.sandbox.box)
            if self.sandbox.cgroup is not None:
                self.log.info("The sandbox's memory (%d MB for all its processes) is held by its %s", bound,
                              self.sandbox.cgroup.describe())
            else:
                self.log.warning("No memory cgroup could be made for the sandbox (run the grader as root, or give it "
                                 "a delegated cgroup): shared memory and in-memory files are not counted against "
                                 "the limit for the sandbox as a whole")
            if self.sandbox.cpu is not None:
                self.log.info("Its CPU (%d core(s) for all its processes) is held by its %s", self.sandbox.limits.cores,
                              self.sandbox.cpu.describe())
            else:
                self.log.warning("No cpu cgroup could be made for the sandbox (run the grader as root, or give it a "
                                 "delegated cgroup): a notebook that starts many busy processes can slow the students "
                                 "graded beside it")
            return connection
        finally:
            os.close(write_end)
            threading.Thread(target=relay_kernel_output, args=(read_end, self.log), daemon=True).start()


class SandboxedExecute(Execute):
    """nbgrader's Execute with a sandboxed kernel, output limits and probe collection (module doc)."""

    max_cell_output = Integer(200_000, help="bytes of output kept per cell").tag(config=True)
    max_output = Integer(2_000_000, help="bytes of output kept per notebook").tag(config=True)
    # the largest an honest notebook sends is 5.7 MB (a5's truncated_latents); 16 MB of empty JSON lists still grows
    # to 350 MB once parsed, within what SandboxWatch lets a kernel's messages take up (Limits.received_mb)
    max_probe = Integer(16_000_000, help="bytes of probe data accepted per test cell").tag(config=True)
    # a probe's message carries its data and a little more; 24 MB of empty JSON lists parse to about 550 MB
    # a solution notebook's cells send at most 9 each in grading; a progress bar's updates add a few hundred a cell
    max_messages = Integer(int(os.environ.get("GANCOURSE_MAX_MESSAGES", "100000")),
                           help="output messages the grader reads for one notebook").tag(config=True)
    max_message = Integer(24_000_000, help="bytes of JSON one kernel message may carry, its binary buffers apart"
                          ).tag(config=True)
    unresponsive_grace = Integer(15, help="seconds a kernel gets to answer after a timed-out cell").tag(config=True)
    # Once the last cell has run, everything the grade needs is in hand: the kernel (the whole sandbox) is killed at
    # once, not asked to shut down. A graceful shutdown took 1.5 s of every student's grading (ipykernel's exit,
    # torch's teardown), and it ran the student's exit handlers after the last cell.
    shutdown_kernel = Enum(["graceful", "immediate"], default_value="immediate").tag(config=True)
    # Widget state is for rendering, not grading; kept, it let a kernel park gigabytes of buffers in this process.
    store_widget_state = Bool(False).tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs["kernel_manager_class"] = SandboxedKernelManager
        super().__init__(*args, **kwargs)
        self._sandbox: Sandbox | None = None

    # --- the kernel ----------------------------------------------------------------------------------
    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        km.sandbox = self._sandbox
        km.salt = self._salt
        km.max_message = self.max_message
        km.transport = "ipc"
        km.ip = str(self._sandbox.ipc / "kernel")
        km.connection_file = str(self._sandbox.ipc / "kernel.json")
        return km

    def preprocess(self, nb, resources=None, km=None):
        from nbclient.client import NotebookClient

        from autograder.grade import course_root
        from autograder.judge import start_judge
        from autograder.probes import hidden_packages, library_objects, sandboxed

        assignment = (resources or {}).get("nbgrader", {}).get("assignment", "")
        if not sandboxed(assignment):
            raise RuntimeError(f"{assignment!r} has no probe module (autograder/probes/): it cannot be graded")
        folder = (resources or {}).get("metadata", {}).get("path")
        self._salt = submission_salt(grading_secret(course_root()), assignment, nb, Path(folder) if folder else None)
        self._sandbox = Sandbox(assignment, library_objects(assignment), hidden_packages=hidden_packages(assignment))
        self._output_bytes: dict[int, int] = {}
        self._messages_read = 0
        self._tested: set[str] = set()  # parts whose test cells have run
        self._dropped: set[int] = set()
        self._malformed: set[int] = set()
        store = resources.setdefault("gancourse", {})
        store.setdefault("probes", {})
        store["stopped"] = None
        store["salt"] = self._salt
        store["judge"] = start_judge(assignment, salt=self._salt)  # imports torch while the notebook runs
        try:
            NotebookClient.__init__(self, nb, km)
            self.reset_execution_trackers()
            self._check_assign_resources(resources)
            with self.setup_kernel():
                info = self.wait_for_reply(self.kc.kernel_info())
                self._sandbox.seal_connection_folder()  # its sockets are made: no more files there
                self.nb.metadata["language_info"] = info["content"]["language_info"]
                skipped = getattr(self.km, "skipped", [])
                for index, cell in enumerate(self.nb.cells):
                    if store["stopped"]:
                        if cell.cell_type == "code":
                            cell.outputs = [self._note(f"This cell was not run: {store['stopped']}")]
                        continue
                    self._run_cell(cell, index, store)
                    if skipped and cell.cell_type == "code":
                        cell.outputs.insert(0, self._note("The grader left these files of your submission out of "
                                                          f"the run: {', '.join(skipped)}."))
                        skipped = []
            self.set_widgets_metadata()
        finally:
            self._sandbox.cleanup()
            self._sandbox = None
        return self.nb, self.resources

    def _run_cell(self, cell: NotebookNode, index: int, store: dict) -> None:
        from autograder.probes import references_for

        part = part_of(cell)
        # only the references of parts whose own test has already run here: a notebook whose test cells were moved
        # below the lending one had the library's versions of its parts lent before they were graded, and kept
        # them (an outside tester's ninth pass, 7/12 on a1 without an answer)
        lent = [earlier for earlier in references_for(self._sandbox.assignment, part) if earlier in self._tested] \
            if part is not None and self._sandbox else []
        try:
            with self._sandbox.lending(lent) if lent else contextlib.nullcontext():
                self._run_cell_unchecked(cell, index, store)
        finally:
            if part is not None:
                self._tested.add(part)
            self._keep_valid(cell, index)

    def _run_cell_unchecked(self, cell: NotebookNode, index: int, store: dict) -> None:
        try:
            self.preprocess_cell(cell, self.resources, index)
        except DeadKernelError:
            watch = self._sandbox.watch if self._sandbox is not None else None
            reason = watch.explain() if watch is not None else None
            store["stopped"] = (f"the kernel was stopped while cell {index} ran: {reason}" if reason else
                                f"the kernel stopped while cell {index} ran (it exceeded the memory, CPU-time or "
                                "process limit of the grading sandbox, or the code ended the process)")
            cell.outputs.append(self._error("KernelDied", store["stopped"]))
            return
        except UnreadableMessage as err:
            self._stop_kernel(cell, store, f"the kernel was stopped while cell {index} ran: it sent the grader a "
                                           f"message that could not be read ({err})")
            return
        except TooManyMessages as err:
            self._stop_kernel(cell, store, f"the kernel was stopped while cell {index} ran: {err}")
            return
        except CellTimeoutError:  # the kernel stopped sending output after an interrupted cell
            cell.outputs.append(self._error("CellTimeoutError", f"cell {index} ran past the time limit"))
        if cell.cell_type == "code" and any(o.get("ename") == "CellTimeoutError" for o in cell.outputs
                                            if o.output_type == "error"):
            if not self._answers():
                self._stop_kernel(cell, store, f"cell {index} ran past the time limit of {self.timeout} s and the "
                                               "kernel did not respond to the interrupt, so it was stopped")
                return
        part = part_of(cell)
        if part is not None and part.isidentifier():
            self._define_if_missing(part)

    def _stop_kernel(self, cell: NotebookNode, store: dict, reason: str) -> None:
        """Stop the kernel (the whole sandbox) at once; the cell says why, and the cells after it are not run."""
        store["stopped"] = reason
        cell.outputs.append(self._error("KernelStopped", reason))
        run_sync(self.km.shutdown_kernel)(now=True)

    async def _async_define_if_missing(self, part: str) -> None:
        """Once a part's test has run, a notebook in which the part's name is not defined at all (its cell
        raised, say) gets a placeholder under that name that raises saying so (``undefined_part``), so that a later
        part that names it as a default argument is still defined, and graded on its own where its probe lends the
        grader's version. Never the grader's version itself: a tester's student left part 1 undefined and used the
        name in parts 2 and 3."""
        targets = self._sandbox.counterparts.get(part) if self._sandbox is not None else None
        if not targets:
            return
        target = targets if isinstance(targets, str) else targets[0]
        code = (f"try:\n    {part}\nexcept NameError:\n"
                f"    from autograder.probes.record import undefined_part as _gancourse_undefined\n"
                f"    {part} = _gancourse_undefined({part!r}, {target!r})\n    del _gancourse_undefined\n")
        try:
            msg_id = self.kc.execute(code, silent=True, store_history=False)
            await self.async_wait_for_reply(msg_id)
        except Exception:  # noqa: BLE001 - a kernel that cannot do this is handled by the next cell
            pass

    _define_if_missing = run_sync(_async_define_if_missing)

    async def _async_reply(self, msg_id: str, timeout: float | None) -> dict | None:
        """The shell reply to ``msg_id``, or None once ``timeout`` seconds have passed on the clock (no limit where
        None); replies to anything else are passed over. nbclient's and jupyter_client's own waits time out only when
        the shell channel is empty: a kernel that kept it busy with replies to nothing held a 60-s cell until the
        student's whole time limit, the grader at a full core (an outside tester's)."""
        deadline = None if timeout is None else monotonic() + timeout
        while True:
            wait = self.shell_timeout_interval if deadline is None else min(self.shell_timeout_interval,
                                                                             deadline - monotonic())
            if wait <= 0:
                return None
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=wait))
            except Empty:
                await self._async_check_alive()
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg
            await asyncio.sleep(0)  # the output and liveness tasks get their turn

    async def async_wait_for_reply(self, msg_id: str, cell: NotebookNode | None = None) -> dict | None:
        """nbclient's, with its time limit on the clock (``_async_reply``). On timeout the kernel is interrupted and
        None returned, as nbclient's does with ``interrupt_on_timeout``."""
        timeout = self._get_timeout(cell)
        msg = await self._async_reply(msg_id, timeout)
        if msg is None:
            await self._async_handle_timeout(timeout, cell)
        return msg

    wait_for_reply = run_sync(async_wait_for_reply)

    async def _async_poll_for_reply(self, msg_id, cell, timeout, task_poll_output_msg, task_poll_kernel_alive):
        """nbclient's wait for a cell's reply, with its time limit on the clock (``_async_reply``). On timeout the
        kernel is interrupted and the reply is nbgrader's timeout error (``error_on_timeout``)."""
        msg = await self._async_reply(msg_id, timeout)
        if msg is None:
            task_poll_kernel_alive.cancel()
            await self._async_check_alive()
            msg = await self._async_handle_timeout(timeout, cell)
            if msg is None:  # not interrupting, or no error configured for it
                raise CellTimeoutError.error_from_timeout_and_cell("Cell execution timed out", timeout, cell)
            msg["parent_header"] = {"msg_id": msg_id}
        elif self.record_timing:
            cell["metadata"]["execution"]["shell.execute_reply"] = timestamp(msg)
        try:
            await asyncio.wait_for(task_poll_output_msg, self.iopub_timeout)
        except (asyncio.TimeoutError, Empty):
            if self.raise_on_iopub_timeout:
                task_poll_kernel_alive.cancel()
                raise CellTimeoutError.error_from_timeout_and_cell("Timeout waiting for IOPub output",
                                                                   self.iopub_timeout, cell) from None
            self.log.warning("Timeout waiting for IOPub output")
        task_poll_kernel_alive.cancel()
        return msg

    async def _async_poll_output_msg(self, parent_msg_id: str, cell: NotebookNode, cell_index: int) -> None:
        """nbclient's reader of a cell's output messages, counting every message it reads for the notebook, whatever
        it answers: past ``max_messages`` it stops reading (``TooManyMessages``, raised once the cell has ended), and
        the kernel is stopped."""
        while True:
            msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=None))
            self._messages_read += 1
            if self._messages_read > self.max_messages:
                raise TooManyMessages(f"it had sent more than {self.max_messages:,} output messages, far more than a "
                                      "notebook needs")
            if msg["parent_header"].get("msg_id") == parent_msg_id:
                try:
                    self.process_message(msg, cell, cell_index)
                except CellExecutionComplete:
                    return

    async def _async_answers(self) -> bool:
        """Whether the kernel answers again after an interrupted cell (it may ignore the interrupt). What is still
        queued on the shell channel is read first: a kernel's reply sent while that channel is full is dropped, and
        a kernel that had filled it with replies to nothing, then stopped at the interrupt, lost its answer on some
        runs and not on others (the same notebook got 10/12 and 12/12). A message the grader cannot read is passed
        over here: an interrupt that lands between two frames of a cell's own send leaves it half sent, and the
        kernel's next message on that socket completes it into one that cannot be read (CI, once in many runs)."""
        deadline = monotonic() + self.unresponsive_grace
        try:
            while True:
                if monotonic() > deadline:
                    return False
                try:
                    await ensure_async(self.kc.shell_channel.get_msg(timeout=0.2))
                except Empty:
                    break
                except UnreadableMessage:
                    continue
            asked = self.kc.kernel_info()
            while True:
                try:
                    return await self._async_reply(asked, deadline - monotonic()) is not None
                except UnreadableMessage:
                    continue
        except Exception as err:  # noqa: BLE001 - any failure to answer means the kernel is gone or stuck
            self.log.warning("The kernel did not answer after the interrupt: %s", err)
            return False

    _answers = run_sync(_async_answers)

    # --- outputs ---------------------------------------------------------------------------------------
    @staticmethod
    def _error(ename: str, evalue: str) -> NotebookNode:
        return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])

    @staticmethod
    def _note(text: str) -> NotebookNode:
        return NotebookNode(output_type="stream", name="stdout", text=text + "\n")

    def process_message(self, msg, cell, cell_index):
        """As nbclient's, except that display ids are dropped: an update of one id rewrites every earlier output
        with that id, outside the output limits (an outside tester grew a notebook to 1 GB with one update of
        twenty tiny displays). Each display is kept as a plain output, counted like any other."""
        if msg.get("msg_type") == "update_display_data":
            return None
        content = msg.get("content") or {}
        if msg.get("msg_type") == "stream" and not isinstance(content.get("text"), str):
            # valid notebook output as a list of lines, but nbgrader's output limit splits it as a string: the
            # AttributeError came after the run and ended the notebook's grading (a twelfth outside pass)
            self._say_malformed(cell, cell_index)
            return None
        if content.get("transient"):
            msg = {**msg, "content": {key: value for key, value in content.items() if key != "transient"}}
        try:
            return super().process_message(msg, cell, cell_index)
        except CellControlSignal:
            raise
        except Exception:  # noqa: BLE001 - whatever a kernel's output breaks in nbclient or nbformat
            # an output that is not valid notebook output (a stream named 5, an error whose traceback is a string):
            # nbformat refused it, and before, that ended the whole notebook's grading, earlier parts' points and
            # an earlier grading's record with them (an outside tester's find). It is dropped, and said once a cell.
            self._say_malformed(cell, cell_index)
            return None

    def _say_malformed(self, cell: NotebookNode, index: int) -> None:
        if index not in self._malformed:
            self._malformed.add(index)
            cell.outputs.append(self._note("... an output of this cell was dropped: it is not valid notebook output."))

    def _keep_valid(self, cell: NotebookNode, index: int) -> None:
        """Drop what the kernel put into a cell that is not valid notebook content (an execute_result numbered
        'abc' also renumbers its cell): nbconvert validates the whole notebook after the run, and one invalid field
        failed the grading of every part."""
        if cell.cell_type != "code":
            return
        def valid(node, ref: str) -> bool:
            try:
                nbformat.validate(node, ref=ref, version=4, version_minor=self.nb.nbformat_minor)
                return True
            except NotebookValidationError:
                return False
        kept = [output for output in cell.outputs if valid(output, "output")]
        for output in kept:
            _renderable_output(output)
        if len(kept) < len(cell.outputs):
            cell.outputs = kept
            self._say_malformed(cell, index)
        if not valid(cell, "code_cell"):
            cell.execution_count = None

    def handle_comm_msg(self, outs, msg, cell_index):
        """Widget and other comm messages are not kept: grading needs none of them."""
        return None

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        # every field of the message counts, the error's name, value and traceback and the metadata too
        size = len(json.dumps({key: value for key, value in content.items() if key != "transient"}, default=str))
        probe = PROBE_MIME in content.get("data", {})
        if probe:
            # probe data counts only from a graded test cell, where the last payload replaces any earlier one (the
            # grader's own run() ends the cell); anything else of its kind is dropped, never kept in this process
            cell = self.nb.cells[cell_index] if 0 <= cell_index < len(self.nb.cells) else None
            if size > self.max_probe or cell is None or part_of(cell) is None:
                return None
            outs[:] = [o for o in outs if not (o.get("output_type") == "display_data"
                                               and PROBE_MIME in o.get("data", {}))]
        elif not self._counted(cell_index, size):
            if cell_index not in self._dropped:
                self._dropped.add(cell_index)
                outs.append(self._note("... more output was dropped: the autograder keeps at most "
                                       f"{self.max_cell_output // 1000} kB a cell and "
                                       f"{self.max_output // 1000} kB a notebook."))
            return None
        return super().output(outs, msg, display_id, cell_index)

    def _counted(self, cell_index: int, size: int) -> bool:
        """Count ``size`` bytes of output against the cell's and the notebook's limits; False (nothing counted)
        where they would not fit."""
        used = self._output_bytes.get(cell_index, 0)
        if used + size > self.max_cell_output or sum(self._output_bytes.values()) + size > self.max_output:
            return False
        self._output_bytes[cell_index] = used + size
        return True

    def _bound_reply_error(self, content: dict, cell_index: int) -> None:
        """nbgrader adds the execute reply's error to the cell's outputs when the cell showed none of that name: the
        output limits hold for it too. An exception whose text was 300 MB only where the reply is built (its
        traceback display silenced) had put all of it into the autograded notebook."""
        fields = {key: content.get(key) for key in ("ename", "evalue", "traceback")}
        if self._counted(cell_index, len(json.dumps(fields, default=str))):
            return
        cut = (f" ... (cut: the autograder keeps at most {self.max_cell_output // 1000} kB of output a cell and "
               f"{self.max_output // 1000} kB a notebook)")
        content["ename"] = str(content.get("ename"))[:200]
        content["evalue"] = str(content.get("evalue"))[:1000] + cut
        content["traceback"] = ["... the traceback was dropped" + cut]

    @staticmethod
    def _well_formed(reply: dict) -> None:
        """Make a cell's execute reply one that nbgrader and nbclient can read, in place. They index its status, and
        an error reply's ename, evalue and traceback, without a check: a kernel whose cell sent a reply without a
        status, or an error reply without those fields, ended the notebook's grading with a KeyError, earlier parts'
        points with it (found while checking an eleventh outside pass). A reply without a known status is an error
        of the cell, said as such; an error's missing fields are filled in."""
        content = reply.get("content")
        if not isinstance(content, dict):
            content = reply["content"] = {}
        if content.get("status") not in ("ok", "error", "aborted"):
            content.clear()
            content.update(status="error", ename="MalformedReply",
                           evalue="the kernel's reply to this cell had no valid status, so the cell counts as failed")
        if content["status"] == "error":
            content.setdefault("ename", "Error")
            content.setdefault("evalue", "")
            if not isinstance(content.get("traceback"), list):
                content["traceback"] = [f"{content['ename']}: {content['evalue']}"]

    def on_cell_executed(self, **kwargs):
        reply = kwargs.get("execute_reply")
        if isinstance(reply, dict):
            self._well_formed(reply)
            if reply["content"]["status"] == "error":
                self._bound_reply_error(reply["content"], kwargs.get("cell_index", -1))
        super().on_cell_executed(**kwargs)
        cell = kwargs["cell"]
        part = part_of(cell)
        payloads = [o for o in cell.outputs if o.output_type == "display_data" and PROBE_MIME in o.get("data", {})]
        cell.outputs = [o for o in cell.outputs if not (o.output_type == "display_data"
                                                          and PROBE_MIME in o.get("data", {}))]
        if part is None:
            return
        for output in reversed(payloads):
            data = output["data"][PROBE_MIME]
            if isinstance(data, str):
                data = json.loads(data)
            if isinstance(data, dict) and data.get("part") == part:
                self.resources["gancourse"]["probes"][part] = data
                break
