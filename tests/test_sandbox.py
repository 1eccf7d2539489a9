"""The grading sandbox holds only the submission: checked by running code inside it, as a student's would run.

Each test starts the real container (autograder/sandbox.py) around a small Python program and reads
what that program could see or do.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import NamedTuple

import pytest

from autograder.sandbox import Limits, MemoryCgroup, Sandbox, available, stubbed_source
from tests.conftest import REPO


def run_inside(code: str, counterparts: dict[str, str] | None = None, files: dict[str, str] | None = None,
               limits: Limits | None = None, lend: list[str] = (), timeout: float = 120,
               hidden_packages: list[str] = ()) -> dict:
    """Run ``code`` in a fresh sandbox of assignment a3; it prints one JSON object, which is returned."""
    box = Sandbox("a3_dcgan", counterparts, limits, hidden_packages=hidden_packages)
    try:
        submission = box.box / "given"
        submission.mkdir()
        for name, text in (files or {}).items():
            (submission / name).write_text(text)
        box.copy_submission(submission)
        cmd = box.command([sys.executable, "/submission/program.py"], {})
        (box.submission / "program.py").write_text(textwrap.dedent(code))
        with box.lending(list(lend)):
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=box.box)
    finally:
        box.cleanup()
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_this_machine_can_run_the_sandbox():
    assert available() is None, available()


def test_the_course_folder_solutions_gradebook_and_judges_are_not_there():
    secret = sorted({p.name for p in (REPO / "solutions").glob("*/*.ipynb")} | {"gradebook.db", "portfolio.json"})
    seen = run_inside(f"""
        import importlib.util, json, os
        SECRET = {secret!r}
        paths = {{p: os.path.exists(p) for p in [{str(REPO / 'solutions')!r}, {str(REPO / 'gradebook.db')!r},
                                                 {str(REPO / 'autograder' / 'judges')!r}, "/srv", "/root/.ssh"]}}
        repo = sorted(os.listdir({str(REPO)!r})) if os.path.isdir({str(REPO)!r}) else []
        found = []
        for top in ("/home", "/tmp", "/grading", "/work", "/root", "/srv", "/opt", "/var", "/usr/local/share"):
            for folder, dirs, files in os.walk(top):
                found += [os.path.join(folder, f) for f in files if f in SECRET]
                found += [os.path.join(folder, d) for d in dirs if d == "judges"]
        print(json.dumps({{"paths": paths, "found": found, "repo": repo,
                          "judges": importlib.util.find_spec("autograder.judges") is not None}}))
    """)
    assert not any(seen["paths"].values()), seen["paths"]
    assert set(seen["repo"]) <= {Path(sys.prefix).name}  # at most the folder of the Python environment
    ours = [f for f in seen["found"] if "/site-packages/nbgrader/tests/" not in f]  # nbgrader's own test files
    assert ours == [] and seen["judges"] is False


def test_the_submissions_own_files_are_in_its_working_folder_and_writable():
    seen = run_inside("""
        import json, os
        open("written.txt", "w").write("x")
        print(json.dumps({"cwd": os.getcwd(), "files": sorted(os.listdir("."))}))
    """, files={"helper.py": "VALUE = 1\n"})
    assert "helper.py" in seen["files"] and "written.txt" in seen["files"]


def test_there_is_no_network_not_even_to_a_server_on_the_graders_loopback():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    threading.Thread(target=lambda: server.accept(), daemon=True).start()
    try:
        seen = run_inside(f"""
            import json, socket
            results = {{}}
            for host, port in (("127.0.0.1", {port}), ("pypi.org", 443), ("1.1.1.1", 53)):
                try:
                    socket.create_connection((host, port), timeout=3).close()
                    results[host] = "connected"
                except OSError as err:
                    results[host] = type(err).__name__
            print(json.dumps(results))
        """)
    finally:
        server.close()
    assert "connected" not in seen.values(), seen


def test_limits_are_set_and_the_code_runs_unprivileged():
    seen = run_inside("""
        import json, os, resource
        names = ("RLIMIT_NPROC", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_NOFILE")
        print(json.dumps({"uid": os.getuid(), "limits": {n: resource.getrlimit(getattr(resource, n))[0] for n in names},
                          "caps": open("/proc/self/status").read().split("CapEff:")[1].split()[0]}))
    """, limits=Limits(memory_mb=1000, cpu_seconds=50, processes=77, file_mb=5, open_files=99))
    assert seen["uid"] != 0 and int(seen["caps"], 16) == 0
    assert seen["limits"] == {"RLIMIT_NPROC": 77, "RLIMIT_CPU": 50, "RLIMIT_DATA": 1000 * 2**20,
                              "RLIMIT_FSIZE": 5 * 2**20, "RLIMIT_NOFILE": 99}


def test_a_memory_hog_a_fork_bomb_and_a_disk_filler_hit_their_limits():
    seen = run_inside("""
        import json, os
        out = {}
        try:
            blob = bytearray(3 * 2**30)
            out["memory"] = "allocated"
        except MemoryError:
            out["memory"] = "MemoryError"
        children = 0
        try:
            for _ in range(500):
                if os.fork() == 0:
                    import time; time.sleep(5); os._exit(0)
                children += 1
            out["fork"] = "unlimited"
        except OSError:
            out["fork"] = f"stopped after {children}"
        try:
            with open("big.bin", "wb") as f:
                for _ in range(100):
                    f.write(b"x" * 2**20)
            out["disk"] = "wrote 100 MB"
        except OSError as err:
            out["disk"] = type(err).__name__
        print(json.dumps(out))
    """, limits=Limits(memory_mb=1024, processes=40, file_mb=8))
    assert seen["memory"] == "MemoryError"
    assert seen["fork"].startswith("stopped after")
    assert seen["disk"] != "wrote 100 MB"


def test_graded_parts_of_the_library_are_stubs_but_while_lent_to_a_probe():
    code = """
        import json
        import gancourse.latent as latent
        out = {}
        for name in ("lerp", "slerp"):
            try:
                getattr(latent, name)(1.0, 2.0, 0.5)
                out[name] = "ran"
            except NotImplementedError as err:
                out[name] = "stub: " + str(err)[:40]
            except Exception:
                out[name] = "ran"
        source = open(latent.__file__).read()
        out["source_has_code"] = "torch.arccos" in source
        print(json.dumps(out))
    """
    parts = {"lerp": "gancourse.latent.lerp", "slerp": "gancourse.latent.slerp"}
    before = run_inside(code, parts)
    assert before["lerp"].startswith("stub") and before["slerp"].startswith("stub")
    assert before["source_has_code"] is False  # the implementation is not even on disk
    after = run_inside(code, parts, lend=["lerp"])
    assert after["lerp"] == "ran" and after["slerp"].startswith("stub")


def test_references_are_lent_to_one_test_cell_and_never_left_for_the_students_cells():
    """Before, a part's library version came back for good once its test had run: a tester's student left part 1
    undone and computed parts 2 and 3 with the library's part 1 (9/12 where 5 were earned). Now the library file
    holds the stub before, and again after, the one window that lends it; only the listed parts are lent."""
    from autograder.probes import library_objects, references_for

    assert references_for("a1_two_networks", "alternating_step") == [
        "discriminator_loss", "saturating_generator_loss", "non_saturating_generator_loss"]
    assert references_for("a1_two_networks", "saturating_generator_loss") == []
    box = Sandbox("a1_two_networks", library_objects("a1_two_networks"))
    losses_file, train_file = box.lib / "gancourse" / "losses.py", box.lib / "gancourse" / "train.py"
    try:
        def stubs(path: Path) -> str:
            return re.search(r"_GRADED_STUBS = frozenset\((.*)\)", path.read_text()).group(1)

        before = stubs(losses_file)
        assert "'discriminator_loss'" in before and "'saturating_generator_loss'" in before
        with box.lending(references_for("a1_two_networks", "alternating_step")):
            assert "_GRADED_STUBS" not in losses_file.read_text()  # every stub of losses.py is lent
            assert "'alternating_step'" in stubs(train_file)  # the part itself is not
        assert stubs(losses_file) == before
        with pytest.raises(RuntimeError), box.lending(["discriminator_loss"]):
            raise RuntimeError("the cell failed")
        assert stubs(losses_file) == before
    finally:
        box.cleanup()


def test_the_private_helpers_a_stubbed_part_uses_are_stubs_too_and_so_is_what_else_uses_them():
    """An outside attacker borrowed the discriminator loss through its helper ``_bce_against_targets``, and
    through the uniform-label-noise loss with no noise, which uses it: both are stubs while the part is (the
    helper, because the noisy-label loss of the part's kin uses it)."""
    from autograder.sandbox import private_helpers

    helper = "gancourse.losses._bce_against_targets"
    assert private_helpers("gancourse.losses.noisy_label_discriminator_loss") == {helper}
    assert private_helpers("gancourse.metrics.precision_recall") >= {"gancourse.metrics._kth_neighbour_radii"}
    assert private_helpers("gancourse.losses.saturating_generator_loss") == set()
    code = """
        import json
        import torch
        from gancourse import losses
        out = {}
        for name, call in (("helper", lambda r, f: losses._bce_against_targets(r, f, r * 0 + 1, f * 0)),
                           ("no_noise", lambda r, f: losses.uniform_label_noise_discriminator_loss(r, f, scale=0.0)),
                           ("non_saturating", lambda r, f: losses.non_saturating_generator_loss(f))):
            try:
                call(torch.zeros(4), torch.zeros(4))
                out[name] = "ran"
            except NotImplementedError:
                out[name] = "stub"
        print(json.dumps(out))
    """
    from autograder.probes import library_objects

    parts = {"discriminator_loss": library_objects("a1_two_networks")["discriminator_loss"]}
    assert run_inside(code, parts) == {"helper": "stub", "no_noise": "stub", "non_saturating": "ran"}
    assert run_inside(code, parts, lend=["discriminator_loss"]) == {"helper": "ran", "no_noise": "ran",
                                                                      "non_saturating": "ran"}


def test_a_stubbed_class_cannot_be_built_or_subclassed_and_keeps_its_docstring():
    source = 'class Net(Base):\n    """Doc."""\n    def __init__(self, w=1):\n        self.w = w\n\n' \
             'def helper():\n    return 1\n'
    namespace = {"Base": object}
    exec(stubbed_source(source, "m", {"Net"}), namespace)
    assert namespace["Net"].__doc__ == "Doc." and namespace["helper"]() == 1
    with pytest.raises(NotImplementedError, match="m.Net"):
        namespace["Net"]()

    class Child(namespace["Net"]):
        pass

    with pytest.raises(NotImplementedError):
        Child()


def test_the_library_builds_with_every_assignments_parts_stubbed():
    from autograder.probes import library_objects

    for path in sorted((REPO / "autograder" / "probes").glob("a*.py")) + [REPO / "autograder/probes/portfolio.py"]:
        if not path.exists():
            continue
        parts = library_objects(path.stem + "_x")
        seen = run_inside("""
            import importlib, json, pkgutil, gancourse
            names = [m.name for m in pkgutil.iter_modules(gancourse.__path__)]
            for name in names:
                importlib.import_module("gancourse." + name)
            print(json.dumps({"imported": names}))
        """, parts)
        assert len(seen["imported"]) >= 10, path.stem


def test_an_installed_copy_of_the_course_packages_is_hidden(tmp_path):
    """A regular (non-editable) install puts autograder/ into site-packages: it must be masked."""
    from autograder import sandbox

    fake = tmp_path / "site" / "autograder"
    (fake / "judges").mkdir(parents=True)
    (fake / "judges" / "a3.py").write_text("SECRET = 1\n")
    original = sandbox._hidden_installs
    sandbox._hidden_installs = lambda *extra: [fake]
    try:
        args = sandbox._masks([str(tmp_path)])
    finally:
        sandbox._hidden_installs = original
    assert args == ["--tmpfs", str(fake), "--remount-ro", str(fake)]


def test_third_party_packages_that_would_do_a_part_are_hidden_the_rest_is_there():
    """a6's part 1 is a Fréchet distance: the installed packages that compute one are not importable."""
    from autograder.probes import hidden_packages

    hidden = hidden_packages("a6_evaluation")
    assert {"pytorch_fid", "torchmetrics"} <= set(hidden)
    found = run_inside("""
        import importlib, json
        def importable(name):
            try:
                importlib.import_module(name)
                return True
            except ImportError:
                return False
        names = ["pytorch_fid.fid_score", "torchmetrics.image.fid", "fid_helper_pytorch._resample_func",
                 "scipy.linalg", "torch", "sklearn.neighbors"]
        print(json.dumps({n: importable(n) for n in names}))
    """, hidden_packages=hidden)
    assert found == {"pytorch_fid.fid_score": False, "torchmetrics.image.fid": False,
                     "fid_helper_pytorch._resample_func": False, "scipy.linalg": True, "torch": True,
                     "sklearn.neighbors": True}


def test_the_sandbox_start_up_script_only_uses_the_standard_library():
    text = (REPO / "autograder" / "sandbox_start.py").read_text()
    imports = {line.split()[1] for line in text.splitlines() if line.startswith("import ")}
    assert imports <= {"os", "resource", "shutil", "sys"}
    assert Path(sys.executable).exists()


def test_symbolic_links_and_oversized_files_of_a_submission_stay_out(tmp_path):
    folder = tmp_path / "submission"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "small.txt").write_text("ok")
    (folder / "big.bin").write_bytes(b"x" * (3 * 2**20))
    (folder / "solutions").symlink_to(REPO / "solutions")
    (folder / "notes.ipynb").write_text("{}")
    box = Sandbox("a3_dcgan", {}, Limits(disk_mb=4))
    try:
        skipped = box.copy_submission(folder)
        copied = sorted(str(p.relative_to(box.submission)) for p in box.submission.rglob("*"))
    finally:
        box.cleanup()
    assert copied == ["data", "data/small.txt"]
    assert skipped == ["big.bin (too large: 3 MB)", "solutions (a symbolic link)"]


def test_the_judge_refuses_a_graph_that_reads_a_file():
    """A forward pass that calls torch.from_file would read the judge's disk when rerun: it is refused."""
    import torch
    from torch import nn

    from autograder.judges import GradingFailure
    from autograder.judges.graph import Graph
    from autograder.probes.graph import trace
    from autograder.probes.record import Record

    secret = REPO / "solutions" / "a3_dcgan" / "dcgan.ipynb"

    class Reader(nn.Module):
        def forward(self, x):
            data = torch.from_file(str(secret), size=16, dtype=torch.uint8)
            return x + data.float().sum()

    record = Record()
    trace(record, "net", Reader(), torch.zeros(2))
    with pytest.raises(GradingFailure, match="from_file"):
        Graph(Record.decode(record.encode()), "net")


def test_the_judge_refuses_probe_data_that_unpacks_into_more_than_it_accepts():
    import base64
    import io
    import zipfile

    from autograder.probes.record import Record

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:  # 1 GB of zeros in a few MB
        with archive.open("bomb.npy", "w", force_zip64=True) as f:
            f.write(b"\x93NUMPY\x01\x00v\x00{'descr': '|u1', 'fortran_order': False, 'shape': (1073741824,), }"
                    .ljust(128, b" ")[:127] + b"\n")
            chunk = bytes(2**24)
            for _ in range(64):
                f.write(chunk)
    with pytest.raises(ValueError, match="larger than the judge accepts"):
        Record.decode(base64.b64encode(buffer.getvalue()).decode(), max_bytes=100 * 2**20)


class Ran(NamedTuple):
    code: int
    reason: str | None  # the watch's
    out: str
    box: Path  # the sandbox's folder on the grader's disk, removed by then


def _run_limited(program: str, limits: Limits, timeout: float = 60) -> Ran:
    """Run ``program`` (``IPC_FOLDER`` in it names the kernel's connection folder) in a sandbox with ``limits`` and
    its watch, and clean the sandbox up."""
    box = Sandbox("a3_dcgan", limits=limits)
    try:
        (box.submission / "program.py").write_text(textwrap.dedent(program).replace("IPC_FOLDER", str(box.ipc)))
        proc = subprocess.Popen(box.command([sys.executable, "/submission/program.py"], {}), cwd=box.box,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        watch = box.start_watch(proc.pid)
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        return Ran(proc.returncode, watch.explain(), out, box.box)
    finally:
        box.cleanup()


def test_the_watch_kills_a_sandbox_that_fills_its_connection_folder_and_spares_one_that_does_not():
    """The connection folder is on the grader's disk: when the grader does not run as root the kernel is its own
    user and can write there, and only the watch (SandboxWatch) bounds it. Here the folder is still open, as it
    is while a kernel starts; a program that writes 4 MB there is killed, one that writes 4 MB in its home is not."""
    def fill(folder: str) -> Ran:
        return _run_limited(f"""
            import os, time
            for i in range(4):
                with open(os.path.join({folder!r}, f"fill{{i}}"), "wb") as f:
                    f.write(b"x" * 2**20)
            time.sleep(20)
        """, Limits(connection_kb=1024), timeout=5)

    code, reason, _, _ = fill("IPC_FOLDER")
    assert code == -9 and reason and "connection folder" in reason and "over the limit of 1024 kB" in reason, reason
    code, reason, _, _ = fill("/home/student")
    assert reason is None and code == -9  # still asleep when the test stopped it


def test_the_watch_stops_a_kernel_whose_messages_take_up_too_much_of_the_graders_own_memory(tmp_path):
    """The kernel's messages are taken in whole by the grader's process, outside the sandbox; the watch, which runs
    in that process, measures how much its data segment has grown since the kernel started (Limits.received_mb).
    Here this test's process plays the grader, and 400 MB that it holds stand for a message being taken in."""
    from autograder.sandbox import SandboxWatch

    kernel = subprocess.Popen(["sleep", "30"])
    try:
        watch = SandboxWatch(kernel.pid, Limits(received_mb=256), tmp_path)
        assert watch.check() is None
        taken_in = bytearray(400 << 20)
        reason = watch.check()
        assert reason and re.search(r"its messages took up \d+ MB in the grader at once, over the limit of 256 MB",
                                    reason), reason
        del taken_in
        assert watch.check() is None
    finally:
        kernel.kill()
        kernel.wait()


BUSY_PROCESSES = """
    import os, time
    start = time.monotonic()
    for _ in range(3):
        if os.fork() == 0:
            while time.monotonic() < start + 2:
                pass
            os._exit(0)
    for _ in range(3):
        os.wait()
    used = os.times()
    print(f"{used.children_user + used.children_system:.3f} {time.monotonic() - start:.3f}")
"""


def test_the_sandboxs_processes_together_get_at_most_its_cores():
    """Three busy processes for 2 s under a quota of one core: together they get about 2 s of CPU, not one core each
    (an outside tester's 64 busy processes had slowed the students graded beside them 12 to 32 times)."""
    from autograder.sandbox import CpuCgroup

    probe = CpuCgroup.make(f"gancourse-test-{os.getpid()}", 1)
    if probe is None:
        pytest.skip("the grader cannot make a cpu cgroup on this machine (not root, no delegated cgroup)")
    probe.remove()
    box = Sandbox("a3_dcgan", limits=Limits(cores=1))
    try:
        (box.submission / "program.py").write_text(textwrap.dedent(BUSY_PROCESSES))
        proc = subprocess.run(box.command([sys.executable, "/submission/program.py"], {}), cwd=box.box,
                              capture_output=True, text=True, timeout=60)
        assert box.cpu is not None, "the sandbox made no cpu group where this test could"
        throttled = box.cpu.throttled_seconds()
    finally:
        box.cleanup()
    cpu, wall = map(float, proc.stdout.split())
    assert cpu < 1.3 * wall, (cpu, wall, throttled)
    assert not box.cpu.path.exists()
    # The same processes at once without the sandbox: where they get more than one core, the quota must have been what
    # held the sandboxed ones back (alone on two cores: held back about 2 s, and 4.0 s of CPU without it). Where they
    # do not (other work on the machine leaves them one core: 1.97 CPU-s in 2.0 s beside a training run), the quota
    # had nothing to hold back, and throttled is 0.
    free = subprocess.run([sys.executable, "-c", textwrap.dedent(BUSY_PROCESSES)], capture_output=True, text=True,
                          timeout=60)
    free_cpu, free_wall = map(float, free.stdout.split())
    if free_cpu > 1.3 * free_wall:
        assert throttled > 0, (cpu, wall, throttled, free_cpu, free_wall)


@pytest.fixture(scope="module")
def memory_cgroup():
    group = MemoryCgroup.make(f"gancourse-test-{os.getpid()}", 64)
    if group is None:
        pytest.skip("the grader cannot make a memory cgroup on this machine (not root, no delegated cgroup)")
    group.remove()


SYSV_SHARED_MEMORY = """
    import ctypes, time
    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmat.restype, libc.shmat.argtypes = ctypes.c_void_p, [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
    libc.shmdt.argtypes = [ctypes.c_void_p]
    for i in range(6):  # 6 x 128 MB, each written then detached: in no process's resident memory
        segment = libc.shmget(0, 128 << 20, 0o1000 | 0o600)
        address = libc.shmat(segment, None, 0)
        ctypes.memset(address, 1, 128 << 20)
        libc.shmdt(ctypes.c_void_p(address))
    print("held 768 MB", flush=True)
    time.sleep(5)
"""
MEMFD_FILES = """
    import os, time
    block = b"x" * (32 << 20)
    files = [os.memfd_create(f"m{i}") for i in range(24)]
    for fd in files:  # 24 x 32 MB written into in-memory files, never mapped
        os.write(fd, block)
    print("held 768 MB", flush=True)
    time.sleep(5)
"""


@pytest.mark.parametrize("program", [SYSV_SHARED_MEMORY, MEMFD_FILES], ids=["sysv_shared_memory", "memfd_files"])
def test_memory_in_no_process_counts_against_the_sandbox_as_a_whole(memory_cgroup, program):
    """Shared memory and in-memory files are in no process's RSS; the sandbox's cgroup counts them, the kernel stops
    the sandbox at its limit, and the watch says why."""
    code, reason, out, _ = _run_limited(program, Limits(total_memory_mb=512))
    assert code != 0 and "held 768 MB" not in out, out
    assert reason and "limit of 512 MB" in reason and "shared memory" in reason, reason


LOOPBACK_TCP_BUFFERS = """
    import socket, time
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(256)
    kept, sent, chunk = [server], 0, b"x" * 65536
    while sent < 600 << 20 and len(kept) < 400:  # 600 MB into socket buffers that nobody reads
        client = socket.socket()
        client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
        client.connect(server.getsockname())
        peer, _ = server.accept()
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        client.setblocking(False)
        while True:
            try:
                sent += client.send(chunk)
            except BlockingIOError:
                break
        kept += [client, peer]
    print(f"held {sent >> 20} MB in socket buffers", flush=True)
    time.sleep(5)
"""


def test_socket_buffers_count_against_the_sandbox_as_a_whole(memory_cgroup):
    """Loopback TCP buffers are in no process's RSS, and cgroup v1 counts them only when asked to, apart from the
    rest (an outside tester held 1.4 GB in them under a 1024 MB limit, at 12/12): the sandbox is stopped."""
    code, reason, out, _ = _run_limited(LOOPBACK_TCP_BUFFERS, Limits(total_memory_mb=256))
    held = re.search(r"held (\d+) MB", out)
    assert code != 0 and (held is None or int(held.group(1)) <= 256), (code, reason, out)  # the kernel held it too
    assert reason and "limit of 256 MB" in reason and "socket buffers" in reason, reason


def test_memory_forked_workers_share_is_counted_once(memory_cgroup):
    """Four forked workers of a process holding 400 MB (what DataLoader(num_workers=4) does) share its pages; summed
    RSS would count them five times (2 GB) and stop an honest notebook under a 1024 MB limit."""
    code, reason, out, _ = _run_limited("""
        import os, time
        data = bytearray(b"x" * (400 << 20))
        workers = []
        for _ in range(4):
            pid = os.fork()
            if pid == 0:
                time.sleep(3)
                os._exit(0)
            workers.append(pid)
        for pid in workers:
            os.waitpid(pid, 0)
        print("workers done", flush=True)
    """, Limits(total_memory_mb=1024))
    assert code == 0 and "workers done" in out and reason is None, (code, reason, out)


THREE_PROCESSES = """
    import os, time
    for _ in range(3):  # three processes of 300 MB each: 900 MB under a limit of 512 MB for the whole sandbox
        if os.fork() == 0:
            held = b"x" * (300 << 20)
            time.sleep(30)
            os._exit(0)
    time.sleep(6)
    print("slept", flush=True)
"""


@pytest.fixture
def oom_killer_disabled_above(memory_cgroup, monkeypatch):
    """The sandbox's cgroup made under a v1 group whose OOM killer is disabled, as a CI runner or a container
    manager may set it: a child group inherits the setting, and a sandbox at its limit hung instead of dying."""
    version, parent = MemoryCgroup._parents()[0]
    if version != 1:
        pytest.skip("oom_kill_disable is a cgroup v1 setting; v2 has none to inherit")
    above = parent / f"gancourse-test-oom-disabled-{os.getpid()}"
    above.mkdir()
    try:
        (above / "memory.oom_control").write_text("1")
        monkeypatch.setattr(MemoryCgroup, "_parents", staticmethod(lambda: [(1, above)]))
        yield
    finally:
        MemoryCgroup(above, 1).remove()


@pytest.fixture
def no_cgroup(monkeypatch):
    """A grader that can make no cgroup (not root, no delegated one): the watch's RSS sum is the only bound."""
    monkeypatch.setattr(MemoryCgroup, "make", classmethod(lambda cls, name, limit_mb: None))


@pytest.mark.parametrize("where", ["own_cgroup", "oom_killer_disabled_above", "no_cgroup"])
def test_processes_together_over_the_sandboxs_memory_are_stopped_and_told_why(where, request):
    """Whatever memory bound the grader's machine allows, three processes together over the sandbox's limit are
    stopped before the program ends, and the watch names the limit (CI's machine took a path the grader's own did
    not: the attack class's three processes got through there)."""
    request.getfixturevalue("memory_cgroup" if where == "own_cgroup" else where)
    code, reason, out, _ = _run_limited(THREE_PROCESSES, Limits(total_memory_mb=512), timeout=60)
    assert "slept" not in out and code != 0, (code, reason, out)
    assert reason and re.search(r"(held \d+ MB, over|needed more than) the sandbox's limit of 512 MB", reason), reason


def test_a_cgroup_whose_limit_leaves_swap_out_is_not_trusted_alone(memory_cgroup, monkeypatch):
    """Where swap is on but the group's limit cannot cover it, a sandbox at its RAM limit swaps instead of being
    killed: the group then reports "unknown" (None), and the watch sums the processes' memory as well."""
    import autograder.sandbox as sandbox

    group = MemoryCgroup.make(f"gancourse-test-swap-{os.getpid()}", 64)
    try:
        monkeypatch.setattr(sandbox, "swap_in_use", lambda: True)
        assert group.out_of_memory() is (False if group.swap_bounded else None)
        group.swap_bounded = False
        assert group.out_of_memory() is None
        monkeypatch.setattr(sandbox, "swap_in_use", lambda: False)
        assert group.out_of_memory() is False
    finally:
        group.remove()


def test_the_sandbox_can_make_no_user_namespace():
    """A user namespace would make the student root of it, free to mount an unbounded tmpfs; as root the grader
    adds a second bubblewrap that allows none (as a user, bubblewrap's --disable-userns does it directly)."""
    code, reason, out, _ = _run_limited("""
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        made = libc.unshare(0x10000000)  # CLONE_NEWUSER
        print("unshare", made, os.strerror(ctypes.get_errno()) if made else "made a user namespace", flush=True)
    """, Limits())
    assert code == 0 and "unshare -1" in out and "made a user namespace" not in out, out


def test_the_watch_counts_the_connection_folders_subfolders_at_any_depth_and_cleanup_removes_them():
    """An outside tester's kernel wrote 300 MB into a subfolder of the connection folder that the watch did not look
    into, and a chain of 1,200 folders stopped the clean-up (shutil.rmtree recurses). Here 4 MB at the end of a chain
    of 1,500 folders is seen, and the whole sandbox folder is removed afterwards."""
    ran = _run_limited("""
        import os, time
        os.chdir("IPC_FOLDER")
        for _ in range(1500):
            os.mkdir("d")
            os.chdir("d")
        for i in range(4):
            with open(f"fill{i}", "wb") as f:
                f.write(b"x" * 2**20)
        time.sleep(20)
    """, Limits(connection_kb=1024), timeout=15)
    assert ran.code == -9 and ran.reason and "connection folder" in ran.reason, ran
    assert not ran.box.exists()
