"""A term on a real JupyterHub started with hub/jupyterhub_config.py: every step through the hub's own routes.

JupyterHub 6 on 127.0.0.1 with configurable-http-proxy (from npm, hub/package.json), the dummy authenticator
and four real local users made with ``useradd``: the grader account that owns the course root and runs the
formgrader service, an instructor, and two students. As root, like a hub's machine (CI runs as root).

* The instructor, the students and the exchange are set up as book/instructors.md says: hub/setup_exchange.py,
  the hub config, each user logging in through the hub's login form and asking the REST API for a token.
* The instructor generates and releases the assignment through the formgrader service's API.
* The students' servers are spawned through the REST API; each fetches and submits from the Assignments
  tab's API (one the reference answer, one the untouched release).
* The instructor collects through formgrader, grades with the course's grading command in a terminal of
  the formgrader service, generates and releases feedback through formgrader, and exports the grades in
  that terminal. The students fetch their feedback.
* A student cannot open the formgrader service or list the exchange's submissions, has no formgrader of
  their own, and has no ``solutions/`` in their home.

``GANCOURSE_KEEP_TERM=1`` keeps the folder (and the users) to look into a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from autograder.grade import as_solved_by_a_student
from autograder.rubric import written_answers
from tests.conftest import REPO

CHP = REPO / "hub" / "node_modules" / ".bin" / "configurable-http-proxy"
pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0 or not (shutil.which("setpriv") and shutil.which("useradd")),
                       reason="the hub starts servers under real local users: it runs as root (CI runs as root)"),
    pytest.mark.skipif(not CHP.exists(), reason="configurable-http-proxy is missing: make test installs it "
                                                "(npm install --prefix hub)"),
]

ASSIGNMENT, NOTEBOOK = "a1_two_networks", "two_networks.ipynb"
PORTFOLIO, PORTFOLIO_NOTEBOOK = "portfolio_cgan", "portfolio.ipynb"
SHOTS = REPO / "artifacts" / "screenshots" / "hub"
COURSE = "gan101"
# hub/setup_exchange.py gives the checkout's private folders to the term's grader account for the whole term:
# under `make test`'s parallel workers, nothing else runs meanwhile (tests/conftest.py, checkout_lock)
CHANGES_THE_CHECKOUT = True
USERS = {"grader": "gcgrader", "teacher": "gcteacher", "ana": "gcana", "ben": "gcben"}  # role -> login name
PASSWORD = "not-a-real-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def interpreter_reachable_by_everyone():
    """On a hub the course's environment lies where every user can run it (/opt, say). This machine's Python
    may be a pyenv build under /root (mode 700): for the duration of the term, other users may pass through
    those folders (search only, no listing), and the modes are put back afterwards."""
    closed = {p: stat.S_IMODE(p.stat().st_mode) for p in Path(sys.executable).resolve().parents
              if not p.stat().st_mode & stat.S_IXOTH}
    try:
        for p, mode in closed.items():
            os.chmod(p, mode | stat.S_IXOTH)
        yield
    finally:
        for p, mode in closed.items():
            os.chmod(p, mode)


class Hub:
    """The running hub and the users' tokens."""

    def __init__(self, base: Path):
        import requests

        self.base = base
        self.homes = {role: base / "home" / role for role in USERS}
        self.course = self.homes["grader"] / COURSE
        self.exchange = base / "srv" / "exchange"
        self.site = base / "etc" / "jupyter"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.tokens: dict[str, str] = {}
        self.http = requests

    # --- the hub's routes -------------------------------------------------------------------------
    def login(self, role: str) -> str:
        """Log in through the hub's login form, then ask the REST API for a token, as a script of theirs would."""
        session = self.http.Session()
        session.get(f"{self.url}/hub/login", timeout=30).raise_for_status()
        page = session.post(f"{self.url}/hub/login", data={"username": USERS[role], "password": PASSWORD,
                                                          "_xsrf": session.cookies.get("_xsrf")},
                            allow_redirects=False, timeout=30)  # (following it would start their server)
        assert page.status_code == 302 and "/hub/login" not in page.headers["Location"], (page.status_code,
                                                                                          page.headers)
        reply = session.post(f"{self.url}/hub/api/users/{USERS[role]}/tokens", json={"note": "term test"},
                             headers={"X-XSRFToken": session.cookies.get("_xsrf")}, timeout=30)
        assert reply.status_code == 201, reply.text
        self.tokens[role] = reply.json()["token"]
        return self.tokens[role]

    def request(self, role: str, method: str, path: str, **kwargs):
        kwargs.setdefault("timeout", 120)
        return self.http.request(method, f"{self.url}{path}",
                                 headers={"Authorization": f"token {self.tokens[role]}"}, **kwargs)

    def ok(self, role: str, method: str, path: str, **kwargs):
        reply = self.request(role, method, path, **kwargs)
        assert reply.ok, f"{role}: {method} {path}: {reply.status_code} {reply.text[:2000]}\n{self.log()}"
        return reply

    def spawn(self, role: str) -> None:
        name = USERS[role]
        if self.ok(role, "GET", f"/hub/api/users/{name}").json()["servers"].get("", {}).get("ready"):
            return
        self.ok(role, "POST", f"/hub/api/users/{name}/server")
        for _ in range(240):
            server = self.ok(role, "GET", f"/hub/api/users/{name}").json()["servers"].get("", {})
            if server.get("ready"):
                return
            time.sleep(0.5)
        raise AssertionError(f"{name}'s server did not start\n{self.log()}")

    def formgrader(self, method: str, route: str, role: str = "teacher"):
        return self.ok(role, method, f"/services/{COURSE}/formgrader/api/{route}")

    def assignments(self, role: str, action: str, assignment: str = ASSIGNMENT):
        """The Assignments tab's request to its own server (fetch, submit, fetch_feedback)."""
        return self.ok(role, "POST", f"/user/{USERS[role]}/assignments/{action}",
                       json={"course_id": COURSE, "assignment_id": assignment})

    def terminal(self, role: str, prefix: str, command: str, timeout: float = 600) -> tuple[int, str]:
        """Run ``command`` in a new terminal of the server at ``prefix`` (JupyterLab's Terminal), as ``role``."""
        name = self.ok(role, "POST", f"{prefix}/api/terminals").json()["name"]
        return asyncio.run(self._in_terminal(role, prefix, name, command, timeout))

    async def _in_terminal(self, role: str, prefix: str, name: str, command: str, timeout: float):
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        request = HTTPRequest(f"ws://127.0.0.1:{self.port}{prefix}/terminals/websocket/{name}",
                              headers={"Authorization": f"token {self.tokens[role]}"})
        ws = await websocket_connect(request)
        ws.write_message(json.dumps(["stdin", f"{command}; echo TERM-EXIT-$?-END\r"]))
        out, deadline = "", time.monotonic() + timeout
        while (done := re.search(r"TERM-EXIT-(\d+)-END", out)) is None:
            left = deadline - time.monotonic()
            assert left > 0, f"the terminal command did not finish: {command}\n{out[-3000:]}"
            message = await asyncio.wait_for(ws.read_message(), left)
            assert message is not None, out[-3000:]
            kind, *data = json.loads(message)
            if kind == "stdout":
                out += data[0]
        ws.close()
        return int(done.group(1)), out

    def log(self) -> str:
        path = self.base / "hub" / "hub.log"
        return path.read_text()[-4000:] if path.exists() else ""


def add_user(role: str, home: Path) -> int:
    name = USERS[role]
    # left by an interrupted run: its servers still run as the user, and userdel refuses a user with processes
    subprocess.run(["pkill", "--signal", "KILL", "--uid", name], capture_output=True)
    for _ in range(50):
        if subprocess.run(["pgrep", "--uid", name], capture_output=True).returncode != 0:
            break
        time.sleep(0.1)
    subprocess.run(["userdel", name], capture_output=True)
    subprocess.run(["groupdel", name], capture_output=True)
    subprocess.run(["useradd", "--user-group", "--home-dir", str(home), "--create-home", "--shell", "/bin/bash",
                    name], check=True, capture_output=True)
    os.chmod(home, 0o700)
    return pwd.getpwnam(name).pw_uid


def setup_exchange(hub: Hub, course_id: str) -> subprocess.CompletedProcess:
    """hub/setup_exchange.py as book/instructors.md gives it, into this term's folders."""
    return subprocess.run([sys.executable, str(REPO / "hub" / "setup_exchange.py"), "--course-id", course_id,
                           "--instructor", USERS["grader"], "--exchange", str(hub.exchange),
                           "--config-dir", str(hub.site)], capture_output=True, text=True)


HUB_TEST_CONFIG = """\
c = get_config()  # noqa: F821
load_subconfig({config!r})  # noqa: F821 - the shipped configuration, then what a site adds:
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = {password!r}
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
"""


@contextlib.contextmanager
def checkout_modes_restored():
    """hub/setup_exchange.py gives this checkout's private folders to the term's grader account: put them back."""
    sys.path.insert(0, str(REPO / "hub"))  # hub/'s scripts import their sibling, as scripts
    try:
        from setup_exchange import PRIVATE
    finally:
        sys.path.remove(str(REPO / "hub"))
    kept = {p: (p.stat().st_gid, stat.S_IMODE(p.stat().st_mode)) for p in (REPO / n for n in PRIVATE) if p.exists()}
    try:
        yield
    finally:
        for path, (gid, mode) in kept.items():
            os.chown(path, path.stat().st_uid, gid)
            os.chmod(path, mode)


@pytest.fixture(scope="module")
def hub():
    base = Path(tempfile.mkdtemp(prefix="gancourse-hub-"))
    os.chmod(base, 0o755)
    hub = Hub(base)
    with interpreter_reachable_by_everyone(), checkout_modes_restored():
        try:
            yield from _term(hub)
        finally:
            if os.environ.get("GANCOURSE_KEEP_TERM"):
                print(f"\nthe term is kept in {base}")
            else:
                for name in USERS.values():
                    subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
                    subprocess.run(["userdel", name], capture_output=True)
                shutil.rmtree(base, ignore_errors=True)


def _term(hub: Hub):
    uid = {role: add_user(role, home) for role, home in hub.homes.items()}
    grader = pwd.getpwnam(USERS["grader"])
    # the grader account's course root: the checkout's solutions (a clone of the instructor's repository
    # would be here; a link does here), and nothing else: formgrader generates the release
    hub.course.mkdir()
    (hub.course / "solutions").symlink_to(REPO / "solutions")
    for path in (hub.course, hub.course / "solutions"):
        os.lchown(path, grader.pw_uid, grader.pw_gid)
    setup = setup_exchange(hub, COURSE)
    assert setup.returncode == 0, setup.stderr
    hubdir = hub.base / "hub"
    hubdir.mkdir()
    (hubdir / "jupyterhub_config.py").write_text(HUB_TEST_CONFIG.format(
        config=str(REPO / "hub" / "jupyterhub_config.py"), password=PASSWORD, port=hub.port,
        hub_port=free_port(), proxy_api_port=free_port()))
    env = dict(os.environ, GANCOURSE_COURSE_ID=COURSE, GANCOURSE_GRADER=USERS["grader"],
               GANCOURSE_COURSE_ROOT=str(hub.course), GANCOURSE_SERVICE_PORT=str(free_port()),
               GANCOURSE_INSTRUCTORS=USERS["teacher"], GANCOURSE_STUDENTS=f"{USERS['ana']},{USERS['ben']}",
               JUPYTER_CONFIG_PATH=str(hub.site),
               PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
    with open(hubdir / "hub.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", "jupyterhub_config.py"], cwd=hubdir,
                                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        for _ in range(120):
            assert proc.poll() is None, hub.log()
            with contextlib.suppress(Exception):
                if hub.http.get(f"{hub.url}/hub/api", timeout=5).ok:
                    break
            time.sleep(0.5)
        for role in ("teacher", "ana", "ben"):
            hub.login(role)
        for _ in range(120):  # the formgrader service starts with the hub
            if hub.request("teacher", "GET", f"/services/{COURSE}/formgrader/api/status").ok:
                break
            time.sleep(0.5)
        hub.uid = uid
        yield hub
    finally:
        # the users' servers and kernels go first: stopping them itself, the hub waits out each one's
        # interrupt and terminate timeouts (30 s at every run), and nothing of theirs is kept anyway
        for name in USERS.values():
            subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def test_setup_exchange_makes_the_exchange_and_the_site_configuration_and_is_idempotent(hub):
    course = hub.exchange / COURSE
    modes = {p: stat.S_IMODE(p.stat().st_mode) for p in (hub.exchange, course / "inbound", course / "outbound")}
    assert list(modes.values()) == [0o1777, 0o2733, 0o755]
    assert (course / "inbound").stat().st_uid == hub.uid["grader"]
    assert f"course_id = '{COURSE}'" in (hub.site / "nbgrader_config.py").read_text()
    again = setup_exchange(hub, COURSE)
    assert again.returncode == 0 and again.stdout.startswith("nothing to change"), again.stdout + again.stderr
    bad = setup_exchange(hub, "gan 101")
    assert bad.returncode != 0 and "course id" in bad.stderr


def test_a_whole_term_through_the_hub(hub):
    # the instructor generates and releases the assignment in formgrader
    hub.formgrader("POST", f"assignment/{ASSIGNMENT}/assign")
    hub.formgrader("POST", f"assignment/{ASSIGNMENT}/release")

    for student in ("ana", "ben"):
        hub.spawn(student)
        listed = hub.assignments(student, "fetch").json()
        assert listed["success"] and [a["status"] for a in listed["value"] if a["assignment_id"] == ASSIGNMENT] \
            == ["fetched"], listed
    solved = as_solved_by_a_student(nbformat.read(REPO / "solutions" / ASSIGNMENT / NOTEBOOK, as_version=4))
    hub.ok("ana", "PUT", f"/user/{USERS['ana']}/api/contents/{ASSIGNMENT}/{NOTEBOOK}",
           json={"type": "notebook", "format": "json", "content": solved})
    for student in ("ana", "ben"):
        hub.assignments(student, "submit")

    # the book's JupyterHub launch button opens nbgitpuller's page, which clones the course's public repository into
    # the student's home: nbgitpuller is in the course's environment (an instructor's hub gave 404 without it). A
    # local repository here, the student's own (git refuses another user's); the hub's is on a Git server.
    public = hub.base / "public-repository"
    public.mkdir()
    (public / "README.md").write_text("the student edition\n")
    for command in (["init", "-q", "-b", "main"], ["add", "README.md"],
                    ["-c", "user.name=course", "-c", "user.email=course@example.org", "commit", "-q", "-m", "x"]):
        subprocess.run(["git", *command], cwd=public, check=True)
    uid = pwd.getpwnam(USERS["ana"]).pw_uid
    for path in (public, *public.rglob("*")):
        os.lchown(path, uid, uid)
    button = {"repo": f"file://{public}", "branch": "main", "targetpath": "gan-course"}
    assert "git-pull" in hub.ok("ana", "GET", f"/user/{USERS['ana']}/git-pull", params=button).text
    pulled = hub.ok("ana", "GET", f"/user/{USERS['ana']}/git-pull/api", params=button).text
    assert '"phase": "finished"' in pulled, pulled[-2000:]
    assert (hub.homes["ana"] / "gan-course" / "README.md").read_text() == "the student edition\n"

    # what a student cannot reach
    assert hub.request("ana", "GET", f"/services/{COURSE}/formgrader/", allow_redirects=False).status_code in (
        302, 403), "a student reached the formgrader service"
    assert hub.request("ana", "GET", f"/services/{COURSE}/formgrader/api/submissions/{ASSIGNMENT}",
                       allow_redirects=False).status_code == 403
    assert hub.request("ana", "GET", f"/user/{USERS['ana']}/formgrader").status_code == 404
    lab = hub.ok("ana", "GET", f"/user/{USERS['ana']}/lab").text
    page = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', lab,
                                re.DOTALL).group(1))
    assert {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
            "@jupyter/nbgrader:course-list"} <= set(page["disabledExtensions"]), page["disabledExtensions"]
    inbound = hub.exchange / COURSE / "inbound"
    code, out = hub.terminal("ana", f"/user/{USERS['ana']}", "command -v nbgrader python")
    assert code == 0 and out.count(str(Path(sys.executable).parent)) >= 2, out  # the course's environment
    for secret in (inbound, REPO / "solutions", REPO / "autograder", REPO / "tests", hub.course, hub.homes["ben"]):
        code, out = hub.terminal("ana", f"/user/{USERS['ana']}", f"ls {secret}")
        assert code != 0 and "Permission denied" in out, out
    code, out = hub.terminal("ana", f"/user/{USERS['ana']}", f"head -c 1 {REPO / 'results' / 'portfolio_runs.json'}")
    assert code != 0 and "Permission denied" in out, out  # it names the portfolio reference's fix
    assert not [p for p in hub.homes["ana"].rglob("*") if p.name in ("solutions", "autograder")]

    # the instructor collects, grades in the service's terminal, returns feedback and exports the grades
    hub.formgrader("POST", f"assignment/{ASSIGNMENT}/collect")
    submissions = {s["student"] for s in hub.formgrader("GET", f"submissions/{ASSIGNMENT}").json()}
    assert submissions == {USERS["ana"], USERS["ben"]}, submissions
    code, out = hub.terminal("teacher", f"/services/{COURSE}", f"python -m autograder.grade {ASSIGNMENT}")
    assert code == 0, out[-3000:]
    graded = hub.formgrader("GET", f"submissions/{ASSIGNMENT}").json()
    scores = {s["student"]: (s["score"], s["max_score"]) for s in graded}
    assert scores[USERS["ana"]][0] == scores[USERS["ana"]][1] > 0 and scores[USERS["ben"]][0] == 0, scores
    hub.formgrader("POST", f"assignment/{ASSIGNMENT}/generate_feedback")
    hub.formgrader("POST", f"assignment/{ASSIGNMENT}/release_feedback")
    for student in ("ana", "ben"):
        hub.assignments(student, "fetch_feedback")
        pages = list((hub.homes[student] / ASSIGNMENT / "feedback").rglob("*.html"))
        assert len(pages) == 1, pages
    code, out = hub.terminal("teacher", f"/services/{COURSE}", "nbgrader export")
    assert code == 0, out[-3000:]
    with open(hub.course / "grades.csv") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f) if row["assignment"] == ASSIGNMENT}
    assert float(rows[USERS["ana"]]["score"]) == float(rows[USERS["ana"]]["max_score"]) > 0
    assert float(rows[USERS["ben"]]["score"]) == 0.0


def written_answers_only() -> nbformat.NotebookNode:
    """The portfolio's release with its written answers filled in (math included), the code untouched."""
    nb = nbformat.read(REPO / "exercises" / PORTFOLIO / PORTFOLIO_NOTEBOOK, as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "markdown" and gid in written_answers(
                nbformat.read(REPO / "solutions" / PORTFOLIO / PORTFOLIO_NOTEBOOK, as_version=4)):
            cell.source = cell.source.replace("YOUR ANSWER HERE", f"Ana's answer to {gid}: $D(x) = \\tfrac12$.")
    return nb


def test_formgrader_shows_each_written_answer_with_its_rubric_and_typeset_math_in_a_browser(hub):
    from playwright.sync_api import sync_playwright

    from tests.test_browser import ARGS, CHROMIUM

    hub.formgrader("POST", f"assignment/{PORTFOLIO}/assign")
    hub.formgrader("POST", f"assignment/{PORTFOLIO}/release")
    for student in ("ana", "ben"):
        hub.spawn(student)
        hub.assignments(student, "fetch", PORTFOLIO)
    hub.ok("ana", "PUT", f"/user/{USERS['ana']}/api/contents/{PORTFOLIO}/{PORTFOLIO_NOTEBOOK}",
           json={"type": "notebook", "format": "json", "content": written_answers_only()})
    for student in ("ana", "ben"):
        hub.assignments(student, "submit", PORTFOLIO)
    hub.formgrader("POST", f"assignment/{PORTFOLIO}/collect")
    code, out = hub.terminal("teacher", f"/services/{COURSE}", f"python -m autograder.grade {PORTFOLIO}")
    assert code == 0, out[-3000:]
    flagged = {s["student"]: s["needs_manual_grade"] for s in hub.formgrader("GET", f"submissions/{PORTFOLIO}").json()}
    assert flagged == {USERS["ana"]: True, USERS["ben"]: False}, flagged  # ana wrote answers; ben left them blank
    hub.formgrader("POST", f"assignment/{PORTFOLIO}/generate_feedback")
    hub.formgrader("POST", f"assignment/{PORTFOLIO}/release_feedback")
    hub.assignments("ana", "fetch_feedback", PORTFOLIO)
    pages = list((hub.homes["ana"] / PORTFOLIO / "feedback").rglob("*.html"))
    assert len(pages) == 1, pages
    feedback = pages[0].read_text()
    rubrics = written_answers(nbformat.read(REPO / "solutions" / PORTFOLIO / PORTFOLIO_NOTEBOOK, as_version=4))
    assert "Ana's answer to reading_loss_curves" in feedback
    assert not any(text[:120] in feedback for text in rubrics.values()), "a rubric reached the student"
    assert "cdnjs" not in feedback and "window.MathJax" in feedback  # MathJax inside the page

    notebook = hub.formgrader("GET", f"submitted_notebooks/{PORTFOLIO}/portfolio").json()
    ana = next(n["id"] for n in notebook if n["student"] == USERS["ana"])
    SHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            teacher = logged_in(browser, hub, "teacher", errors)
            teacher.goto(f"{hub.url}/services/{COURSE}/formgrader/manage_submissions/{PORTFOLIO}")
            teacher.get_by_text(USERS["ben"]).first.wait_for(timeout=60_000)
            assert teacher.get_by_text(USERS["ana"]).count() >= 1
            teacher.screenshot(path=SHOTS / "formgrader_submissions.png", full_page=True)
            teacher.goto(f"{hub.url}/services/{COURSE}/formgrader/submissions/{ana}/?index=0")
            teacher.get_by_text("Ana's answer to reading_loss_curves").wait_for(timeout=60_000)
            written = written_answers(nbformat.read(REPO / "solutions" / PORTFOLIO / PORTFOLIO_NOTEBOOK, as_version=4))
            assert teacher.get_by_text("For the grader: the rubric and a model answer").count() == len(written) == 6
            teacher.wait_for_function("document.querySelectorAll('mjx-container').length > 10", timeout=60_000)
            raw = teacher.evaluate("[...document.querySelectorAll('.rendered_html, .text_cell_render')]"
                                   ".map(e => e.innerText).join('\\n')")
            assert "\\mathcal" not in raw, "math left untypeset"
            assert teacher.get_by_text("Rubric (3 points).").count() == sum(
                text.startswith("*Rubric (3 points).*") for text in written.values()) == 2
            teacher.screenshot(path=SHOTS / "formgrader_manual_grading.png", full_page=True)

            student = logged_in(browser, hub, "ana", errors)
            student.goto(f"{hub.url}/user/{USERS['ana']}/lab")
            student.get_by_text("Nbgrader", exact=True).click(timeout=60_000)
            student.get_by_text("Assignment List").click()
            student.get_by_text(PORTFOLIO).first.wait_for(timeout=60_000)
            assert student.get_by_text("Formgrader").count() == 0
            student.screenshot(path=SHOTS / "student_assignments.png")
        finally:
            browser.close()
    assert not [e for e in errors if "nbgrader" in e.lower()], errors


def logged_in(browser, hub: Hub, role: str, errors: list[str]):
    """A new browser page, logged in through the hub's login form; console errors are collected."""
    page = browser.new_context().new_page()
    page.on("console", lambda m: errors.append(f"{role}: {m.text}") if m.type == "error" else None)
    page.goto(f"{hub.url}/hub/login?next=%2Fhub%2Fhome")  # (not to their own server, which would start it)
    page.fill("input[name=username]", USERS[role])
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_load_state()
    return page
