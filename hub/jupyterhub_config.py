"""JupyterHub configuration for one course: a shared formgrader service, graders and students by role.

Load it from a ``jupyterhub_config.py`` of your own, in the hub's own folder, that adds your site's
authenticator, and start the hub as root (so that it can start each user's server under their own user id):

    # /srv/jupyterhub/jupyterhub_config.py
    c = get_config()
    load_subconfig("/opt/gan-course/hub/jupyterhub_config.py")
    c.JupyterHub.authenticator_class = "pam"

    cd /srv/jupyterhub && GANCOURSE_INSTRUCTORS=alice,bob GANCOURSE_STUDENTS=ana,ben,... \
        /opt/gan-course/.venv/bin/jupyterhub -f jupyterhub_config.py

Everything is set by environment variables, so that this tracked file is never edited
(book/instructors.md, "On a JupyterHub you run", gives every step):

==========================  ====================================================================
``GANCOURSE_COURSE_ID``     the course id, as given to hub/setup_exchange.py (default ``gan101``)
``GANCOURSE_GRADER``        the Unix account that owns the course root and runs formgrader
                            (default ``grader-<course id>``)
``GANCOURSE_COURSE_ROOT``   the course root: gradebook.db, submitted/, autograded/, feedback/
                            (default ``/home/<grader>/<course id>``)
``GANCOURSE_INSTRUCTORS``   comma-separated user names who grade (group ``formgrade-<course id>``)
``GANCOURSE_STUDENTS``      comma-separated user names of the class (group ``nbgrader-<course id>``)
``GANCOURSE_SERVICE_PORT``  the local port of the formgrader service (default 9999)
``GANCOURSE_DB_URL``        the gradebook's database, if not gradebook.db in the course root
                            (``postgresql+psycopg2://user:password@host/db``); passed to the service
``GANCOURSE_MEM_LIMIT``     memory of each student's server (default ``2G``)
``GANCOURSE_CPU_LIMIT``     CPU cores of each student's server (default 1)
``GANCOURSE_MEM_GUARANTEE`` memory reserved for each server (default ``512M``)
``GANCOURSE_CPU_GUARANTEE`` CPU cores reserved for each server (default 0.25)
==========================  ====================================================================

What it sets up, following nbgrader's "one class, multiple graders" layout:

* **formgrader as a hub service** named after the course, at ``/services/<course id>/``: a Jupyter
  server run as the grader account in the course root, with formgrader and Create Assignment, the
  course's grading configuration (``hub/jupyter_config/grader``) and ``frame-ancestors 'self'``, so
  that formgrader renders in its Lab tab. The instructors open it from their own server's *Nbgrader*,
  *Course List*, or at ``/services/<course id>/lab``, and run the grading command in its terminal.
* **roles**: the group ``formgrade-<course id>`` may use that service and nobody else may; the group
  ``nbgrader-<course id>`` holds the students. Each server's token inherits its owner's rights only.
* **what each user's own server offers**: students get the *Assignments* tab and *Validate*, and no
  formgrader, Create Assignment or Course List (``hub/jupyter_config/student``); instructors get the
  *Course List* as well (``hub/jupyter_config/instructor``).
* **each student's server** opens JupyterLab, with a memory and CPU limit. A full run of the largest
  assignment's notebook took 851 MB, and grading one student 1.5 to 1.7 GB in the grader's account:
  the defaults leave room for both. LocalProcessSpawner, JupyterHub's default, cannot enforce them;
  SystemdSpawner and KubeSpawner do (book/instructors.md, "Scaling").

The site-wide ``nbgrader_config.py`` with the course id and the exchange comes from
hub/setup_exchange.py (``/etc/jupyter``, which every server reads). A folder on the hub's own
``$JUPYTER_CONFIG_PATH`` is passed on to every server as well.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821

HUB = Path(__file__).resolve().parent
PYTHON_BIN = Path(sys.executable).parent  # the course's environment, in which the hub runs


def names(variable: str) -> list[str]:
    return [n.strip() for n in os.environ.get(variable, "").split(",") if n.strip()]


COURSE = os.environ.get("GANCOURSE_COURSE_ID", "gan101")
GRADER = os.environ.get("GANCOURSE_GRADER", f"grader-{COURSE}")
COURSE_ROOT = os.environ.get("GANCOURSE_COURSE_ROOT", f"/home/{GRADER}/{COURSE}")
INSTRUCTORS = names("GANCOURSE_INSTRUCTORS")
STUDENTS = names("GANCOURSE_STUDENTS")
SERVICE_PORT = int(os.environ.get("GANCOURSE_SERVICE_PORT", "9999"))
GRADERS_GROUP, STUDENTS_GROUP = f"formgrade-{COURSE}", f"nbgrader-{COURSE}"


def config_path(role: str) -> str:
    """The Jupyter configuration folders of a role's servers: the course's, then any the hub was given."""
    inherited = os.environ.get("JUPYTER_CONFIG_PATH", "")
    return os.pathsep.join(p for p in (str(HUB / "jupyter_config" / role), inherited) if p)


c.Authenticator.allowed_users = set(INSTRUCTORS) | set(STUDENTS)
c.JupyterHub.load_groups = {
    GRADERS_GROUP: {"users": INSTRUCTORS},
    STUDENTS_GROUP: {"users": STUDENTS},
}
c.JupyterHub.load_roles = [
    {
        "name": GRADERS_GROUP,
        "groups": [GRADERS_GROUP],
        # use the course's formgrader service, and find it (nbgrader's Course List asks the hub)
        "scopes": [f"access:services!service={COURSE}", "list:services", f"read:services!service={COURSE}"],
    },
    {
        "name": STUDENTS_GROUP,
        "groups": [STUDENTS_GROUP],
        "scopes": ["self"],  # their own server, nothing of anyone else's
    },
    {
        "name": "server",  # a server's token may do what its owner may, never more
        "scopes": ["inherit"],
    },
]

c.JupyterHub.services = [
    {
        "name": COURSE,
        "url": f"http://127.0.0.1:{SERVICE_PORT}",
        "command": [str(PYTHON_BIN / "jupyterhub-singleuser")],
        "user": GRADER,
        "cwd": COURSE_ROOT,
        "oauth_no_confirm": True,
        "environment": {
            "JUPYTERHUB_DEFAULT_URL": "/lab",
            "JUPYTER_CONFIG_PATH": config_path("grader"),
            "GANCOURSE_COURSE_ROOT": COURSE_ROOT,
            "GANCOURSE_COURSE_ID": COURSE,
            "PYTHONPATH": str(HUB.parent),  # this checkout's autograder and gancourse, in its terminals too
            **({"GANCOURSE_DB_URL": os.environ["GANCOURSE_DB_URL"]} if os.environ.get("GANCOURSE_DB_URL") else {}),
            "PATH": f"{PYTHON_BIN}{os.pathsep}/usr/local/bin:/usr/bin:/bin",
        },
    },
]

# JupyterHub's proxy, from the npm registry (`make hub` installs it into hub/node_modules)
PROXY = HUB / "node_modules" / ".bin" / "configurable-http-proxy"
if PROXY.exists():
    c.ConfigurableHTTPProxy.command = [str(PROXY)]

c.Spawner.cmd = [str(PYTHON_BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.mem_limit = os.environ.get("GANCOURSE_MEM_LIMIT", "2G")
c.Spawner.cpu_limit = float(os.environ.get("GANCOURSE_CPU_LIMIT", "1"))
# what a node must hold for each server: about a quarter of the class training at once (book/instructors.md)
c.Spawner.mem_guarantee = os.environ.get("GANCOURSE_MEM_GUARANTEE", "512M")
c.Spawner.cpu_guarantee = float(os.environ.get("GANCOURSE_CPU_GUARANTEE", "0.25"))


def role_config_path(spawner) -> str:
    """Instructors' servers get the instructor's tools, everyone else's the student's (by group, at each start)."""
    graders = any(group.name == GRADERS_GROUP for group in spawner.user.groups)
    return config_path("instructor" if graders else "student")


c.Spawner.environment = {
    "JUPYTER_CONFIG_PATH": role_config_path,
    "PATH": f"{PYTHON_BIN}{os.pathsep}/usr/local/bin:/usr/bin:/bin",
}
