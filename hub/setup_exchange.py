"""Set up nbgrader's exchange and the site-wide nbgrader configuration for one course, on the hub's machine.

Run it once, as root, with the course's Python (it needs nothing outside the standard library):

    sudo .venv/bin/python hub/setup_exchange.py --course-id gan101 --instructor alice
    sudo .venv/bin/python hub/setup_exchange.py --course-id gan101 --instructor alice \\
        --exchange /srv/nbgrader/exchange --config-dir /etc/jupyter

It makes

* the exchange root (default ``/srv/nbgrader/exchange``), owned by root, writable by every user and
  sticky (mode 1777), as nbgrader requires of it;
* the course's folder in it, owned by the instructor: ``outbound/`` (0755: every student can fetch a
  release, nobody but the instructor can change one), ``inbound/`` (2733: every student can submit,
  nobody but the instructor can list the submissions, so nobody finds another student's folder,
  whose name ends in a random string) and ``feedback/`` (0711: each student reads only the feedback
  whose name, a hash of their own submission, they know);
* ``<config-dir>/nbgrader_config.py`` (default ``/etc/jupyter``, read by every user's nbgrader,
  students' included), holding the course id and the exchange root. Nobody then edits the
  repository's tracked ``nbgrader_config.py``, and no command needs ``--course``;
* this checkout's ``solutions/``, ``autograder/``, ``tests/`` and ``.git/`` readable by the instructor's
  group only (mode 0750): the course's environment lives in the checkout where every user can run it,
  and a student must not read the answers, the hidden tests or the grader there.

Running it again changes nothing that is right already, and says what it changed.
"""

from __future__ import annotations

import argparse
import os
import pwd
import re
import stat
import sys
from pathlib import Path

from config_files import write_config  # hub/, beside this script

DEFAULT_EXCHANGE = Path("/srv/nbgrader/exchange")
DEFAULT_CONFIG_DIR = Path("/etc/jupyter")
MODES = {"": 0o755, "outbound": 0o755, "inbound": 0o2733, "feedback": 0o711}
CHECKOUT = Path(__file__).resolve().parents[1]
# What of this checkout only the instructor's account may read: the answers and hidden tests, the grader and its
# reference artifacts, the tests' correct answers, the measured runs of the portfolio's reference (which name its fix:
# an instructor on a hub found students could read them), and the history that holds them all. The rest (the library,
# exercises/, the book, hub/jupyter_config/) stays readable: every user's server runs the course's environment.
PRIVATE = ("solutions", "autograder", "tests", ".git",
           "results/portfolio_runs.json", "results/portfolio_divergence.json")

SITE_CONFIG = '''\
# Written by hub/setup_exchange.py: the course id and the exchange every user's nbgrader uses.
# Site-wide (read by instructors and students alike); the course repository's files stay untouched.
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = {course_id!r}
c.Exchange.root = {exchange!r}
'''


def owner_of(user: str) -> tuple[int, int]:
    """(uid, gid) of a user name, or of a numeric user id (its own group)."""
    if user.isdigit():
        return int(user), int(user)
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        sys.exit(f"setup_exchange: there is no user {user!r} on this machine; create the instructor's account "
                 "first (on a hub, by logging in once), or give a numeric user id.")
    return entry.pw_uid, entry.pw_gid


def ensure(path: Path, mode: int, uid: int, gid: int) -> list[str]:
    """Make ``path`` a folder with exactly ``mode`` and owner ``uid:gid``; what was changed, in words."""
    changed = []
    if not path.is_dir():
        path.mkdir(parents=True)
        changed.append(f"created {path}")
    info = path.stat()
    if (info.st_uid, info.st_gid) != (uid, gid):
        os.chown(path, uid, gid)
        changed.append(f"{path}: owner set to {uid}:{gid}")
    if stat.S_IMODE(path.stat().st_mode) != mode:
        os.chmod(path, mode)  # after chown, which clears the set-group-id bit
        changed.append(f"{path}: mode set to {mode:04o}")
    return changed


def protect_checkout(checkout: Path, gid: int) -> list[str]:
    """The ``PRIVATE`` folders and files of the checkout: group ``gid`` (the instructor's), no access for others
    (folders 0750, files 0640)."""
    changed = []
    for name in PRIVATE:
        path = checkout / name
        if path.exists():
            info, mode = path.stat(), 0o750 if path.is_dir() else 0o640
            if info.st_gid != gid:
                os.chown(path, info.st_uid, gid)
                changed.append(f"{path}: group set to {gid}")
            if stat.S_IMODE(path.stat().st_mode) != mode:
                os.chmod(path, mode)
                changed.append(f"{path}: mode set to {mode:04o}")
    return changed


def setup(course_id: str, instructor: str, exchange: Path, config_dir: Path) -> list[str]:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", course_id):
        sys.exit(f"setup_exchange: the course id {course_id!r} must be letters, digits, '.', '_' or '-' "
                 "(nbgrader uses it as a folder name).")
    if not exchange.is_absolute():
        sys.exit(f"setup_exchange: the exchange must be an absolute path, not {exchange}.")
    uid, gid = owner_of(instructor)
    changed = ensure(exchange, 0o1777, 0, 0)
    for name, mode in MODES.items():
        changed += ensure(exchange / course_id / name if name else exchange / course_id, mode, uid, gid)
    config = config_dir / "nbgrader_config.py"
    wrote = write_config(config, SITE_CONFIG.format(course_id=course_id, exchange=str(exchange)),
                         "hub/setup_exchange.py")
    changed += [wrote] if wrote else []
    os.chmod(config, 0o644)
    return changed + protect_checkout(CHECKOUT, gid)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--course-id", required=True)
    parser.add_argument("--instructor", required=True, help="the instructor's user name (or numeric user id)")
    parser.add_argument("--exchange", type=Path, default=DEFAULT_EXCHANGE)
    parser.add_argument("--config-dir", type=Path, default=DEFAULT_CONFIG_DIR)
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        sys.exit("setup_exchange: run it as root (sudo): it sets the owners of the exchange's folders.")
    changed = setup(args.course_id, args.instructor, args.exchange, args.config_dir)
    print("\n".join(changed) if changed else "nothing to change: the exchange and the configuration are set up")
    return 0


if __name__ == "__main__":
    sys.exit(main())
