"""The grading sandbox: a student's notebook runs in a bubblewrap container holding only that submission.

nbgrader's ``Execute`` starts one Jupyter kernel per notebook. Here that kernel is started inside
Debian's ``bubblewrap`` with:

* a fresh, size-limited home folder holding a copy of the one submission (its notebook excluded:
  the kernel receives cells one at a time, and the graded copy holds the test cells);
* read-only system folders and Python environment, with the course library as a generated copy in
  which the functions and classes this assignment grades are stubs (``build_library``) for the whole
  run. A probe that judges a later part on its own runs it with the grader's references of earlier
  parts (the step with the grader's losses); those, and only those (``REFERENCES`` in the probe
  module), are put back while that one test cell runs (``Sandbox.lending``), and only once their
  own parts' tests have run (a notebook whose test cells were moved is lent nothing early). The student's cells never
  see a reference: an outside tester's student left part 1 undone and computed parts 2 and 3 with
  the library's part 1, once it was put back for good after part 1's test;
* no solutions, gradebook, judges, reference artifacts, instructor files or other submissions:
  nothing of the course folder is mounted, and any installed copy of ``autograder`` or
  ``gancourse`` is hidden;
* no network (a network namespace with only loopback; the kernel talks to nbgrader over Unix
  sockets in a folder of its own), its own process and IPC namespaces, and, when the grader runs as
  root, an unprivileged user id of its own;
* limits on memory, CPU time, processes, file size, open files and disk (``Limits``).

The student's code and the grader's probes (``autograder.probes``) run in there. The probes send
plain data back through the kernel's output messages; verdicts are made outside, by
``autograder.judges`` (see ``autograder/executor.py``).
"""

from __future__ import annotations

import ast
import contextlib
import functools
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, fields
from importlib import util
from pathlib import Path

HERE = Path(__file__).resolve().parent
LIBRARY = HERE.parent / "gancourse"
MOUNT = Path("/grading")  # inside the sandbox: the generated library, the probes and the start-up script
HOME = Path("/home/student")
SUBMISSION = Path("/submission")  # inside the sandbox: a read-only copy of the submission folder


MAX_DEPTH, MAX_ENTRIES = 32, 10_000  # folders deep, files and folders in all, in one submission


def submission_paths(submitted: Path) -> list[Path] | str:
    """Everything under ``submitted``, sorted, walked with a stack of its own; or why not, as a sentence for the
    student. pathlib's rglob recursed once a folder: a folder nested a few thousand deep raised RecursionError in
    this process and ended the grading of the whole class (an outside tester's eighth pass)."""
    found, stack = [], [(submitted, 0)]
    while stack:
        folder, depth = stack.pop()
        if depth >= MAX_DEPTH:
            return f"its folders are nested more than {MAX_DEPTH} deep; it was not graded"
        with os.scandir(folder) as entries:
            for entry in entries:
                found.append(Path(entry.path))
                if len(found) > MAX_ENTRIES:
                    return f"it holds more than {MAX_ENTRIES} files and folders; it was not graded"
                if entry.is_dir(follow_symlinks=False):
                    stack.append((Path(entry.path), depth + 1))
    return sorted(found)


def submission_entries(folder: Path) -> list[tuple[Path, Path]]:
    """(relative path, path) of everything in a submission folder that the sandbox may copy, in order: all
    but notebooks (the kernel gets its cells one at a time) and Jupyter's checkpoints. The walk is
    ``submission_paths``; the grading command refuses a submission it cannot walk before any sandbox is made."""
    paths = submission_paths(folder)
    if isinstance(paths, str):
        raise ValueError(f"{folder}: {paths}")
    return [(path.relative_to(folder), path) for path in paths
            if path.suffix != ".ipynb" and ".ipynb_checkpoints" not in path.relative_to(folder).parts]


@dataclass(frozen=True)
class Limits:
    """What one grading kernel may use. Each field can be set with $GANCOURSE_GRADING_<FIELD>."""

    memory_mb: int = 4096  # address space the kernel may allocate for data (RLIMIT_DATA)
    cpu_seconds: int = 900  # CPU time of the whole kernel, all cells together (RLIMIT_CPU)
    processes: int = 256  # processes and threads of the sandbox user (RLIMIT_NPROC)
    file_mb: int = 64  # largest file the kernel may write (RLIMIT_FSIZE)
    disk_mb: int = 512  # size of the home folder and of /tmp (tmpfs)
    open_files: int = 512  # RLIMIT_NOFILE
    total_memory_mb: int = 6144  # all the sandbox's memory together (its MemoryCgroup, else SandboxWatch's RSS sum)
    connection_kb: int = 1024  # what the kernel may write into its connection folder, on the grader's disk
    received_mb: int = 1024  # what its messages may take up at once in the grader's own process (SandboxWatch)
    cores: int = 1  # CPU of all the sandbox's processes together, in cores (its CpuCgroup), like one grading job

    @classmethod
    def from_env(cls) -> Limits:
        values = {}
        for f in fields(cls):
            raw = os.environ.get(f"GANCOURSE_GRADING_{f.name.upper()}")
            if raw:
                values[f.name] = int(raw)
        return cls(**values)


def available() -> str | None:
    """None when this machine can run the sandbox, else why not (in words an instructor can act on)."""
    if shutil.which("bwrap") is None:
        return "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        return "setpriv (util-linux) is missing; it drops the sandbox to an unprivileged user"
    return None


# --- the course library, with the graded parts stubbed -------------------------------------------

STUBS = "_GRADED_STUBS"  # in a stubbed module: the names that are stubs (the probes' references check it)


def stub_message(qualified: str) -> str:
    return (f"{qualified} is the course library's own version of a part you write in this assignment; "
            "it is not available while your notebook is graded. Write the part yourself.")


def _stub_body(qualified: str, docstring: str | None) -> list[ast.stmt]:
    body: list[ast.stmt] = [ast.Expr(ast.Constant(docstring))] if docstring else []
    body.append(ast.Raise(ast.Call(ast.Name("NotImplementedError", ast.Load()),
                                   [ast.Constant(stub_message(qualified))], [])))
    return body


def stubbed_source(source: str, module: str, names: set[str]) -> str:
    """``source`` with the top-level functions and classes in ``names`` replaced by stubs.

    A stubbed function raises NotImplementedError; a stubbed class keeps its name and bases but
    raises as soon as it is instantiated, so a subclass of it fails too. Their code is not in the
    result at all, only their docstrings.
    """
    tree = ast.parse(source)
    found = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in names:
            node.body = _stub_body(f"{module}.{node.name}", ast.get_docstring(node))
            node.decorator_list = []
            found.add(node.name)
        elif isinstance(node, ast.ClassDef) and node.name in names:
            init = ast.parse("def __init__(self, *args, **kwargs):\n    pass").body[0]
            init.body = _stub_body(f"{module}.{node.name}", None)
            doc = ast.get_docstring(node)
            node.body = ([ast.Expr(ast.Constant(doc))] if doc else []) + [init]
            node.decorator_list = []
            found.add(node.name)
    missing = names - found
    if missing:
        raise ValueError(f"{module} defines no top-level {', '.join(sorted(missing))} to stub")
    tree.body.append(ast.parse(f"{STUBS} = frozenset({sorted(names)!r})").body[0])
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


@functools.cache  # the library's source does not change while a class is graded
def private_helpers(target: str) -> frozenset[str]:
    """The library's private functions and classes (``_name``) that ``target`` ("gancourse.losses.name") uses,
    directly or through one another, as "gancourse.module._name": stubbed with it, since a helper does the
    part's work (``_bce_against_targets`` is the discriminator loss given targets of one and zero) and so do
    the library's other functions built on it. Found in the source: names of the same module, and
    ``module._name`` of a course module it imports with ``from . import module``."""
    found: set[str] = set()
    pending = [target]
    while pending:
        module, _, name = pending.pop().rpartition(".")
        tree = ast.parse((LIBRARY / f"{module.rpartition('.')[2]}.py").read_text())
        top = {node.name: node for node in tree.body
               if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
        siblings = {alias.asname or alias.name for node in tree.body if isinstance(node, ast.ImportFrom)
                    and node.level == 1 and not node.module for alias in node.names}
        for node in ast.walk(top[name]):
            if isinstance(node, ast.Name) and node.id.startswith("_") and not node.id.startswith("__") \
                    and node.id in top:
                helper = f"{module}.{node.id}"
            elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__") \
                    and isinstance(node.value, ast.Name) and node.value.id in siblings:
                helper = f"gancourse.{node.value.id}.{node.attr}"
            else:
                continue
            if helper not in found:
                found.add(helper)
                pending.append(helper)
    return frozenset(found)


def build_library(dest: Path, stubbed: dict[str, set[str]]) -> None:
    """Write the course library into ``dest/gancourse`` with ``{module: names}`` stubbed.

    Files are replaced atomically, so a running kernel that imports while the library is rebuilt
    sees either version, never half of one. The committed weights are mounted separately.
    """
    target = dest / "gancourse"
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(LIBRARY.glob("*.py")):
        module = f"gancourse.{path.stem}" if path.stem != "__init__" else "gancourse"
        source = path.read_text()
        if stubbed.get(module):
            source = stubbed_source(source, module, stubbed[module])
        tmp = target / f".{path.name}.tmp"
        tmp.write_text(source)
        os.replace(tmp, target / path.name)
    (target / "weights").mkdir(exist_ok=True)


def _hidden_installs(extra: list[str] = ()) -> list[Path]:
    """Installed copies of the course's packages, and of the ``extra`` packages, that must not be visible in
    the sandbox."""
    found = []
    for name in ("autograder", "gancourse", *extra):
        try:
            spec = util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.submodule_search_locations:
            found += [Path(p).resolve() for p in spec.submodule_search_locations]
        elif spec is not None and spec.origin:
            found.append(Path(spec.origin).resolve())
    return found


# --- the container ----------------------------------------------------------------------------------

def _system_mounts() -> list[str]:
    args: list[str] = []
    for top in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        path = Path(top)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), top]
        elif path.exists():
            args += ["--ro-bind", top, top]
    for name in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "nsswitch.conf", "hosts", "fonts"):
        if (Path("/etc") / name).exists():
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    return args


def _python_mounts() -> list[str]:
    """This Python and its environment, read-only, at their real paths and at the paths used to reach them
    (a virtual environment reached through a symbolic link keeps working inside)."""
    args: list[str] = []
    seen: set[str] = set()
    for given in (Path(sys.base_prefix), Path(sys.prefix), Path(sys.executable).parent):
        real = given.resolve()
        for dest in (real, given.absolute()):
            if str(dest) in seen or any(str(dest).startswith(top) for top in ("/usr/", "/bin/", "/lib")):
                continue
            seen.add(str(dest))
            args += ["--ro-bind", str(real), str(dest)]
    return args


def _masks(bound: list[str], hidden: list[str] = ()) -> list[str]:
    """Empty read-only folders (or an empty file) over anything secret or hidden inside a mounted folder."""
    secret = _hidden_installs(hidden) + [Path("/usr/local/share/nbgrader"), Path("/srv/nbgrader")]
    mounted = [Path(p) for p in bound]
    args: list[str] = []
    for path in secret:
        if path.exists() and any(path == m or m in path.parents for m in mounted):
            if path.is_dir():
                args += ["--tmpfs", str(path), "--remount-ro", str(path)]
            else:
                args += ["--ro-bind", "/dev/null", str(path)]
    return args


def _parents(paths) -> list[str]:
    """Create the folders above each mount point readable by everyone (bubblewrap run as root makes them 0700)."""
    args: list[str] = []
    seen: set[Path] = set()
    for path in paths:
        for parent in reversed(Path(path).parents):
            if parent != Path("/") and parent not in seen:
                seen.add(parent)
                args += ["--perms", "0755", "--dir", str(parent)]
    return args


def swap_in_use() -> bool:
    """Whether this machine has swap turned on."""
    with contextlib.suppress(OSError):
        return any(line.split()[1] != "0" for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("SwapTotal:"))
    return False


def cgroup_parents(controller: str) -> list[tuple[int, Path]]:
    """Where this process may make a child cgroup with ``controller`` ("memory", "cpu"): its own v1 cgroup of that
    controller; with cgroup v2, its own cgroup or the hierarchy's root, where the controller is in that one's
    subtree_control."""
    found = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, relative = line.split(":", 2)
            if controller in controllers.split(","):
                found.append((1, Path("/sys/fs/cgroup") / controllers / relative.lstrip("/")))
            elif controllers == "":
                for v2 in (Path("/sys/fs/cgroup") / relative.lstrip("/"), Path("/sys/fs/cgroup")):
                    with contextlib.suppress(OSError):
                        if controller in (v2 / "cgroup.subtree_control").read_text().split():
                            found.append((2, v2))
    return [(version, path) for version, path in found if os.access(path, os.W_OK)]


def own_data_mb() -> float:
    """The data segment (heap and private mappings) of this process: the grader's, where the watch runs."""
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"^VmData:\s+(\d+) kB", status, re.M).group(1)) / 1024


def remove_cgroup(path: Path) -> None:
    """Remove a cgroup once its processes are gone (the kernel refuses while any is left)."""
    for _ in range(50):
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.1)


SANDBOXES = "GANCOURSE_SANDBOXES"  # the folder a grading makes its sandboxes in (set by the grading command)
BOX_PREFIX = "gancourse-sandbox-"  # a sandbox's folder, and its cgroups, are named this and a random suffix


def short_temporary_folder() -> str:
    """Where sandboxes are made: the temporary folder, or /tmp where its path is too long for the kernel's sockets,
    which live in the sandbox's folder (a Unix socket's path has at most 107 bytes; a $TMPDIR of about 65 characters
    or more had every kernel fail to start)."""
    folder = tempfile.gettempdir()
    return folder if len(folder) <= 32 else "/tmp"


def remove_leftovers(folder: Path) -> None:
    """Remove ``folder`` and what the sandboxes made in it left behind: their cgroups, and their folders. A sandbox
    cleans up after itself, unless the process that made it was killed first (a grading stopped at its time limit),
    which had left a cgroup of each kind and a folder per stopped grading, for the whole term."""
    for box in folder.glob(f"{BOX_PREFIX}*"):
        for controller in ("memory", "cpu"):
            for _, parent in cgroup_parents(controller):
                remove_cgroup(parent / box.name)  # waits a moment for the killed sandbox's processes to be gone
    remove_folder(folder)


def remove_folder(folder: Path) -> None:
    """``rm -rf``: it has no depth limit; shutil.rmtree recurses and stopped at a chain of 1,200 folders a kernel had
    made (it is the fallback)."""
    if subprocess.run(["rm", "-rf", "--", str(folder)], capture_output=True).returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)


class MemoryCgroup:
    """A memory cgroup of one sandbox's own, where the grader may make one (cgroup v1 as root, or a v2 cgroup
    whose memory controller is delegated to the grader). The kernel then holds all the sandbox's memory to
    ``limit_mb`` and counts what process RSS misses: SysV and POSIX shared memory, memfd files, tmpfs pages,
    socket buffers, kernel objects such as inodes. ``make`` returns None where no cgroup can be made; the
    RSS sum of ``SandboxWatch`` is then the only bound on the whole."""

    def __init__(self, path: Path, version: int) -> None:
        self.path, self.version = path, version
        self.swap_bounded = False  # whether the group's limit covers swap too (set by ``make``)
        self.limit = 2**63  # bytes, set by ``make``

    @classmethod
    def make(cls, name: str, limit_mb: int) -> MemoryCgroup | None:
        for version, parent in cls._parents():
            path = parent / name
            try:
                path.mkdir()
            except OSError:
                continue
            group = cls(path, version)
            try:
                group._limit(limit_mb * 2**20)
                return group
            except OSError:
                group.remove()
        return None

    @staticmethod
    def _parents() -> list[tuple[int, Path]]:
        return cgroup_parents("memory")

    def _limit(self, limit: int) -> None:
        self.limit = limit
        if self.version == 1:
            (self.path / "memory.limit_in_bytes").write_text(str(limit))
            with contextlib.suppress(OSError):  # no swap for the sandbox either, where swap is accounted
                (self.path / "memory.memsw.limit_in_bytes").write_text(str(limit))
                self.swap_bounded = True
            # a v1 group inherits its parent's oom_kill_disable: with it set, a sandbox at its limit would hang in
            # the kernel, not be killed, and no kill would ever be counted
            with contextlib.suppress(OSError):
                (self.path / "memory.oom_control").write_text("0")
            # v1 counts TCP buffers only once this is written (an outside tester held 1.4 GB in loopback sockets
            # under a 1024 MB limit); they are counted apart from the rest, so the watch adds the two
            with contextlib.suppress(OSError):
                (self.path / "memory.kmem.tcp.limit_in_bytes").write_text(str(limit))
        else:  # v2 counts socket buffers with the rest
            (self.path / "memory.max").write_text(str(limit))
            with contextlib.suppress(OSError):
                (self.path / "memory.swap.max").write_text("0")
                self.swap_bounded = True

    def describe(self) -> str:
        """Where the group is and how it stands, for the grading log."""
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        with contextlib.suppress(OSError):
            state = " ".join((self.path / name).read_text().split())
            return f"cgroup v{self.version} at {self.path} ({name}: {state}; Linux {os.uname().release})"
        return f"cgroup v{self.version} at {self.path} (Linux {os.uname().release})"

    @property
    def procs(self) -> Path:
        """Write a process id here to put the process (and whatever it starts later) in the cgroup."""
        return self.path / "cgroup.procs"

    def out_of_memory(self) -> bool | None:
        """Whether the sandbox has needed more than its limit: the kernel killed one of its processes for want of
        memory, or holds them waiting for memory, or (v1) its memory and TCP buffers together are over the limit.
        None where the kernel reports neither kills nor swap (the watch then sums the processes' memory as well)."""
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        try:
            state = dict(line.split() for line in (self.path / name).read_text().splitlines() if " " in line)
        except (OSError, ValueError):
            return None
        counted = [int(state[key]) for key in ("oom_kill", "under_oom", "oom") if key in state]
        if any(counted) or self._with_tcp_buffers() > self.limit:
            return True
        # kernels before 4.13 count no kills (one between two polls goes unseen), and where swap is on but not
        # accounted the group's limit holds only its RAM: the watch then sums the processes' memory as well
        return None if "oom_kill" not in state or (not self.swap_bounded and swap_in_use()) else False

    def _with_tcp_buffers(self) -> int:
        """v1: the group's memory (with swap where that is counted) plus its TCP buffers, which v1 counts apart;
        0 where there are none to add (v2 counts them in the group's own figure)."""
        if self.version != 1:
            return 0
        try:
            tcp = int((self.path / "memory.kmem.tcp.usage_in_bytes").read_text())
            usage = "memory.memsw.usage_in_bytes" if self.swap_bounded else "memory.usage_in_bytes"
            return tcp + int((self.path / usage).read_text()) if tcp else 0
        except (OSError, ValueError):
            return 0

    def remove(self) -> None:
        remove_cgroup(self.path)


class CpuCgroup:
    """A cpu cgroup of one sandbox's own, where the grader may make one: all the sandbox's processes together get at
    most ``cores`` cores' worth of CPU time (the kernel's scheduler quota: v1 ``cpu.cfs_quota_us``, v2 ``cpu.max``).
    Without it a notebook that starts many busy processes took every core, and slowed the students graded beside it
    12 to 32 times (an outside tester's 64 processes). With cgroup v2 the group is the memory group's own folder."""

    PERIOD_US = 100_000

    def __init__(self, path: Path, version: int, made: bool) -> None:
        self.path, self.version, self.made = path, version, made

    @classmethod
    def make(cls, name: str, cores: int, memory: MemoryCgroup | None = None) -> CpuCgroup | None:
        """``memory``: the sandbox's memory group. A process is in one v2 group only, so with v2 the CPU quota goes
        into that group's folder, where its parent lets it; a v1 group is a folder of the cpu hierarchy's own."""
        if memory is not None and memory.version == 2:
            places = [(2, memory.path)] if (2, memory.path.parent) in cgroup_parents("cpu") else []
        else:
            places = [(version, parent / name) for version, parent in cgroup_parents("cpu")
                      if version == 1 or memory is None]
        for version, path in places:
            made = not path.exists()
            try:
                if made:
                    path.mkdir()
            except OSError:
                continue
            group = cls(path, version, made)
            quota = str(cores * cls.PERIOD_US)
            try:
                if version == 1:
                    (path / "cpu.cfs_period_us").write_text(str(cls.PERIOD_US))
                    (path / "cpu.cfs_quota_us").write_text(quota)
                else:
                    (path / "cpu.max").write_text(f"{quota} {cls.PERIOD_US}")
                return group
            except OSError:
                group.remove()
        return None

    @property
    def procs(self) -> Path:
        return self.path / "cgroup.procs"

    def throttled_seconds(self) -> float:
        """How long the scheduler has held the group's processes back for being over their quota."""
        with contextlib.suppress(OSError, ValueError, KeyError):
            state = dict(line.split() for line in (self.path / "cpu.stat").read_text().splitlines())
            return int(state["throttled_time"]) / 1e9 if self.version == 1 else int(state["throttled_usec"]) / 1e6
        return 0.0

    def describe(self) -> str:
        return f"cgroup v{self.version} at {self.path}"

    def remove(self) -> None:
        if self.made:
            remove_cgroup(self.path)


class SandboxWatch(threading.Thread):
    """Limits that hold for a sandbox as a whole, kept by polling from outside (``setrlimit`` only bounds each
    process): the memory of all its processes together, and the connection folder, the one folder of the
    grader's disk that the kernel can write to, and what the kernel's messages take up in the grader's own process
    (the one that runs the watch). A sandbox over any of them is killed, and ``reason`` says why.
    With a ``MemoryCgroup`` the kernel holds the memory limit and the watch reports its kills; without one,
    the watch sums the processes' resident memory.

    The kernel's messages arrive in the grader's process, outside the sandbox, and ZeroMQ takes each in whole before
    the grader reads it, however large: an outside tester's kernel grew the grader by 1.5 GB with probe data of empty
    JSON lists (thirtyfold once parsed), and one 4 GB message made of one buffer sent a hundred times costs the kernel
    40 MB. The watch measures the grader's own data segment against what it was when the kernel started; an honest
    notebook's grading grew it by at most 70 MB (every assignment's solution), a cell printing for 60 s by 212 MB."""

    def __init__(self, pid: int, limits: Limits, connection_folder: Path, every: float = 0.1,
                 cgroup: MemoryCgroup | None = None) -> None:
        super().__init__(daemon=True, name=f"sandbox-watch-{pid}")
        self.pid, self.limits, self.folder, self.every, self.cgroup = pid, limits, connection_folder, every, cgroup
        self.reason: str | None = None
        self._stop = threading.Event()
        self.grader_start_mb = own_data_mb()

    def rss_mb(self) -> float:
        """The resident and swapped-out memory of all the sandbox's processes together (a page they share counts
        once for each of them)."""
        import psutil

        try:
            top = psutil.Process(self.pid)
            processes = [top, *top.children(recursive=True)]
        except psutil.Error:
            return 0.0
        total = 0
        for process in processes:  # resident and swapped out
            with contextlib.suppress(OSError, ValueError):
                status = Path(f"/proc/{process.pid}/status").read_text()
                total += sum(int(v) for v in re.findall(r"^Vm(?:RSS|Swap):\s+(\d+) kB", status, re.M)) * 1024
        return total / 2**20

    def connection_kb(self) -> float:
        """What is in the connection folder, its subfolders included; every entry counts at least 1 kB, so the walk
        (with its own stack: no depth of folders stops it) ends soon after the total passes the limit."""
        total, folders = 0, [self.folder]
        while folders and total <= self.limits.connection_kb * 1024:
            with contextlib.suppress(OSError), os.scandir(folders.pop()) as entries:
                for entry in entries:
                    with contextlib.suppress(OSError):
                        info = entry.stat(follow_symlinks=False)
                        total += max(info.st_size, 1024) if stat.S_ISREG(info.st_mode) else 1024
                        if stat.S_ISDIR(info.st_mode):
                            folders.append(Path(entry.path))
        return total / 1024

    def check(self) -> str | None:
        known = self.cgroup.out_of_memory() if self.cgroup is not None else None
        if known:
            return (f"its processes together needed more than the sandbox's limit of {self.limits.total_memory_mb} MB "
                    "(shared memory, in-memory files and socket buffers included)")
        memory = self.rss_mb() if known is None else 0.0  # with a cgroup that reports, the kernel holds the limit
        if memory > self.limits.total_memory_mb:
            return (f"its processes together held {memory:.0f} MB, over the sandbox's limit of "
                    f"{self.limits.total_memory_mb} MB for all of them")
        received = own_data_mb() - self.grader_start_mb
        if received > self.limits.received_mb:
            return (f"its messages took up {received:.0f} MB in the grader at once, over the limit of "
                    f"{self.limits.received_mb} MB for one kernel: show less output at once")
        written = self.connection_kb()
        if written > self.limits.connection_kb:
            return (f"it wrote {written:.0f} kB into the kernel's connection folder, over the limit of "
                    f"{self.limits.connection_kb} kB")
        return None

    def run(self) -> None:
        while not self._stop.wait(self.every):
            reason = self.check()
            if reason is not None:
                self.reason = reason
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)  # bubblewrap: --die-with-parent takes the whole sandbox
                return

    def explain(self) -> str | None:
        """Why the sandbox was stopped, also when the kernel killed it between two polls (its cgroup remembers)."""
        return self.reason or (self.check() if self.cgroup is not None else None)

    def stop(self) -> None:
        self._stop.set()


class Sandbox:
    """The folders and command line of one grading kernel's container (one notebook of one student)."""

    def __init__(self, assignment: str, counterparts: dict[str, list[str]] | None = None,
                 limits: Limits | None = None, hidden_packages: list[str] = ()) -> None:
        self.assignment = assignment
        self.hidden_packages = list(hidden_packages)  # third-party packages that would do a part for the student
        self.limits = limits or Limits.from_env()
        self.counterparts = dict(counterparts or {})  # part -> ["gancourse.module.Name", ...]
        self.lent: set[str] = set()  # parts whose library versions are back, while one test cell runs
        self.box = Path(tempfile.mkdtemp(prefix=BOX_PREFIX, dir=os.environ.get(SANDBOXES) or short_temporary_folder()))
        self.lib = self.box / "lib"
        self.ipc = self.box / "ipc"
        self.submission = self.box / "submission"
        for folder in (self.lib, self.ipc, self.submission):
            folder.mkdir()
        self.uid = 1_900_000 + os.getpid() % 100_000 if os.geteuid() == 0 else os.getuid()
        if os.geteuid() == 0:  # the grader's folder, open to the kernel for its sockets until it has started
            self.ipc.chmod(0o1777)
        self.watch: SandboxWatch | None = None
        self.cgroup: MemoryCgroup | None = None  # made with the command line, where the grader may make one
        self.cpu: CpuCgroup | None = None  # likewise
        self._write_grading_folder()
        self._write_accounts()

    # the library, the probes and the start-up script, mounted read-only at /grading
    def _write_grading_folder(self) -> None:
        build_library(self.lib, self._stubbed())
        probes = self.lib / "autograder" / "probes"
        shutil.copytree(HERE / "probes", probes, ignore=shutil.ignore_patterns("__pycache__"))
        (self.lib / "autograder" / "__init__.py").write_text('"""The grader\'s probes, as mounted in the sandbox."""\n')
        shutil.copy(HERE / "sandbox_start.py", self.lib / "sandbox_start.py")

    def _stubbed(self) -> dict[str, set[str]]:
        def targets_of(part: str) -> list[str]:
            targets = self.counterparts[part]
            return [targets] if isinstance(targets, str) else list(targets)

        # a helper that a lent part's library version uses is lent with it (lerp's weights, lent to slerp's
        # probe, though slerp uses them too): the lent version must run
        in_use = {helper for part in self.lent for target in targets_of(part) for helper in private_helpers(target)}
        stubbed: dict[str, set[str]] = {}
        for part in self.counterparts:
            if part not in self.lent:
                for target in targets_of(part):
                    for stub in {target} | (private_helpers(target) - in_use):
                        module, _, name = stub.rpartition(".")
                        stubbed.setdefault(module, set()).add(name)
        return stubbed

    @contextlib.contextmanager
    def lending(self, parts: list[str]) -> Iterator[None]:
        """The library's versions of ``parts`` put back while one test cell runs, for its probe, then stubs
        again (see the module doc)."""
        lent = {part for part in parts if part in self.counterparts}
        if not lent:
            yield
            return
        self.lent = lent
        build_library(self.lib, self._stubbed())
        try:
            yield
        finally:
            self.lent = set()
            build_library(self.lib, self._stubbed())

    def _write_accounts(self) -> None:
        (self.box / "passwd").write_text(f"root:x:0:0:root:/root:/usr/sbin/nologin\n"
                                         f"student:x:{self.uid}:{self.uid}:student:{HOME}:/usr/sbin/nologin\n")
        (self.box / "group").write_text(f"root:x:0:\nstudent:x:{self.uid}:\n")

    def copy_submission(self, folder: Path) -> list[str]:
        """Copy the submission's files for the sandbox; return what was left out, and why.

        Notebooks stay out (the kernel gets its cells one by one, and the graded copy holds the test
        cells), so do symbolic links (they could point anywhere on the grader's disk) and whatever
        exceeds half of the sandbox's disk.
        """
        budget = self.limits.disk_mb * 2**20 // 2
        skipped: list[str] = []
        for relative, path in submission_entries(folder):
            if path.is_symlink():
                skipped.append(f"{relative} (a symbolic link)")
            elif path.is_dir():
                (self.submission / relative).mkdir(parents=True, exist_ok=True)
            elif path.is_file():
                size = path.stat().st_size
                if size > budget:
                    skipped.append(f"{relative} (too large: {size // 2**20} MB)")
                    continue
                budget -= size
                (self.submission / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, self.submission / relative)
        return skipped

    def command(self, inner: list[str], env: dict[str, str]) -> list[str]:
        """The bubblewrap command line that runs ``inner`` in this sandbox, with only ``env`` set."""
        lim = self.limits
        root = os.geteuid() == 0
        args = ["bwrap", "--die-with-parent", "--new-session", "--clearenv",
                "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
                "--hostname", "grading"]
        if not root:
            args += ["--unshare-user", "--disable-userns", "--cap-drop", "ALL"]
        args += ["--proc", "/proc", "--dev", "/dev",
                 "--size", str(lim.disk_mb * 2**20), "--perms", "1777", "--tmpfs", "/dev/shm",
                 "--size", str(lim.disk_mb * 2**20), "--perms", "1777", "--tmpfs", "/tmp"]
        mounts = _system_mounts() + _python_mounts()
        args += _parents([mounts[i + 2] for i, a in enumerate(mounts) if a == "--ro-bind"] + ["/etc/passwd"])
        args += mounts + _masks([mounts[i + 2] for i, a in enumerate(mounts) if a == "--ro-bind"],
                                self.hidden_packages)
        args += _parents([str(self.ipc)])
        args += ["--ro-bind", str(self.box / "passwd"), "/etc/passwd",
                 "--ro-bind", str(self.box / "group"), "/etc/group",
                 "--ro-bind", str(self.lib), str(MOUNT),
                 "--ro-bind", str(LIBRARY / "weights"), str(MOUNT / "gancourse" / "weights"),
                 "--ro-bind", str(self.submission), str(SUBMISSION),
                 "--bind", str(self.ipc), str(self.ipc),
                 "--size", str(lim.disk_mb * 2**20), "--perms", "1777", "--tmpfs", str(HOME),
                 "--chdir", str(HOME)]
        base = {"HOME": str(HOME), "USER": "student", "LANG": "C.UTF-8", "TMPDIR": "/tmp",
                "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
                "PYTHONPATH": str(MOUNT), "PYTHONDONTWRITEBYTECODE": "1",
                "MPLCONFIGDIR": f"{HOME}/.config/matplotlib", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                "GANCOURSE_SANDBOX": "1", "GANCOURSE_ASSIGNMENT": self.assignment, "GANCOURSE_DEVICE": "cpu"}
        for key, value in {**base, **env}.items():
            args += ["--setenv", key, value]
        if root:
            # bubblewrap as root cannot --disable-userns without mapping the sandbox to root: a second, unprivileged
            # bubblewrap as the sandbox user makes a user namespace of its own and then allows no more of them (an
            # outside tester had mounted an unbounded tmpfs from one)
            args += ["--", "setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups",
                     "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs",
                     shutil.which("bwrap"), "--unshare-user", "--disable-userns", "--die-with-parent",
                     "--dev-bind", "/", "/", "--"]
        else:
            args += ["--"]
        start = [sys.executable, str(MOUNT / "sandbox_start.py"),
                 *(f"{f.name}={getattr(lim, f.name)}" for f in fields(Limits)), "--"]
        if self.cgroup is None:
            self.cgroup = MemoryCgroup.make(self.box.name, lim.total_memory_mb)
        if self.cpu is None:
            self.cpu = CpuCgroup.make(self.box.name, lim.cores, self.cgroup)
        groups = [group.procs for group in (self.cgroup, self.cpu) if group is not None]
        if groups:  # bubblewrap starts inside the cgroups, so everything it starts is in them too
            enter = " && ".join(f"echo $$ > {shlex.quote(str(procs))}" for procs in dict.fromkeys(groups))
            args = ["/bin/sh", "-c", enter + ' && exec "$@"', "sandbox", *args]
        return args + start + inner

    def start_watch(self, pid: int) -> SandboxWatch:
        """Keep the limits of the sandbox as a whole (``SandboxWatch``) on the process ``pid`` started with
        ``command``."""
        self.watch = SandboxWatch(pid, self.limits, self.ipc, cgroup=self.cgroup)
        self.watch.start()
        return self.watch

    def seal_connection_folder(self) -> None:
        """Once the kernel has made its sockets, it may create nothing more in the connection folder. That
        holds when the grader runs as root (the kernel is another user, and the folder is the grader's);
        otherwise the kernel is the grader's own user, and only ``SandboxWatch`` bounds what it writes there."""
        if os.geteuid() == 0:
            self.ipc.chmod(0o755)

    def make_readable(self, path: Path) -> None:
        """Let the sandbox user read a file the grader wrote (the kernel's connection file)."""
        path.chmod(path.stat().st_mode | stat.S_IRGRP | stat.S_IROTH)

    def cleanup(self) -> None:
        if self.watch is not None:
            self.watch.stop()
        if self.cgroup is not None:
            self.cgroup.remove()
        if self.cpu is not None:
            self.cpu.remove()
        remove_folder(self.box)
