"""Formgrader in the instructor's own Jupyter server finds the course and may be framed by its Lab tab.

The server starts in the instructor's home folder, as a hub's single-user server does, after
hub/instructor_setup.py wrote the instructor's Jupyter configuration. A real ``jupyter server`` runs
on loopback, with a stand-in for what JupyterHub's single-user extension does to its headers
(jupyterhub/singleuser/extension.py: ``frame-ancestors 'none'`` unless a policy is configured). The
test asks it for formgrader's page, whose policy must let the server's own pages frame it, and for
formgrader's list of assignments, which must hold the course's. Without the script's files both fail.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import REPO, make_course

ASSIGNMENT = "a1_two_networks"
TOKEN = "formgrader-test-token"


# What JupyterHub's single-user server extension does to the headers (until the live hub test runs the real one)
HUB_STAND_IN = """
def _jupyter_server_extension_points():
    return [{"module": "hub_singleuser_stand_in"}]


def _load_jupyter_server_extension(app):
    headers = app.web_app.settings.setdefault("headers", {})
    headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[int, dict, bytes]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, dict(response.headers), response.read()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("instructor")
    course = make_course(home / "course", ASSIGNMENT)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "GANCOURSE"))}
    (home / "stand_in").mkdir()
    (home / "stand_in" / "hub_singleuser_stand_in.py").write_text(HUB_STAND_IN)
    env.update(HOME=str(home), PATH=f"{os.path.dirname(sys.executable)}:/usr/bin:/bin",
               PYTHONPATH=str(home / "stand_in"))
    setup = subprocess.run([sys.executable, str(REPO / "hub" / "instructor_setup.py"), "--course-root", str(course)],
                           env=env, cwd=home, capture_output=True, text=True)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    again = subprocess.run([sys.executable, str(REPO / "hub" / "instructor_setup.py"), "--course-root", str(course)],
                           env=env, cwd=home, capture_output=True, text=True)
    assert again.stdout.count("already set up") == 2, again.stdout + again.stderr
    port = free_port()
    cmd = [sys.executable, "-m", "jupyter", "server", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
           f"--ServerApp.token={TOKEN}", f"--ServerApp.root_dir={home}",
           "--ServerApp.jpserver_extensions", "hub_singleuser_stand_in=True"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(home / "server.log", "w")
    proc = subprocess.Popen(cmd, env=env, cwd=home, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                get(f"{base}/api/status?token={TOKEN}")
                break
            except OSError:
                assert proc.poll() is None, (home / "server.log").read_text()[-3000:]
                time.sleep(0.5)
        yield base, home
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_formgrader_may_be_framed_by_the_servers_own_pages_only(server):
    base, _ = server
    status, headers, _ = get(f"{base}/formgrader?token={TOKEN}")
    assert status == 200
    policy = headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'self'" in policy and "'none'" not in policy, policy


def test_formgrader_started_in_the_home_folder_lists_the_course_assignment(server):
    base, home = server
    status, _, body = get(f"{base}/formgrader/api/assignments?token={TOKEN}")
    names = [a["name"] for a in json.loads(body)]
    assert status == 200 and ASSIGNMENT in names, (names, (home / "server.log").read_text()[-3000:])
