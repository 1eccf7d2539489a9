"""Let formgrader, in the instructor's own JupyterLab on a hub, find this course and show in its Lab tab.

Run it once as the instructor (not root), with the course's Python, from anywhere:

    .venv/bin/python hub/instructor_setup.py                       # the course root is this checkout
    .venv/bin/python hub/instructor_setup.py --course-root ~/gan101 # run-time state kept elsewhere

A single-user server starts in the home folder, where nbgrader finds no ``nbgrader_config.py``, and
JupyterHub forbids framing (``Content-Security-Policy: frame-ancestors 'none'``), which leaves
formgrader's Lab tab blank. This writes two files of the instructor's own Jupyter configuration
(``~/.jupyter``, or ``$JUPYTER_CONFIG_DIR``):

* ``nbgrader_config.py``, which loads this checkout's ``autograder/nbgrader_config.py`` (and sets the
  course root, when it is not the checkout), so formgrader and every nbgrader command find the course
  wherever they start;
* ``jupyter_server_config.py``, which lets the server's own pages frame each other
  (``frame-ancestors 'self'``), so formgrader renders in its Lab tab. Other sites still cannot frame it.

It never overwrites a file it did not write; it then prints the lines to merge by hand.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from config_files import write_config  # hub/, beside this script

CHECKOUT = Path(__file__).resolve().parents[1]
MARK = "# Written by hub/instructor_setup.py"

NBGRADER_CONFIG = '''\
{mark}: nbgrader and formgrader find the GAN course wherever they start.
import os

c = get_config()  # noqa: F821
{course_root}load_subconfig({config!r})  # noqa: F821
'''

SERVER_CONFIG = '''\
{mark}: formgrader's Lab tab is a frame of this same server.
c = get_config()  # noqa: F821
c.ServerApp.tornado_settings = {{"headers": {{"Content-Security-Policy": "frame-ancestors 'self'"}}}}
'''


def config_dir() -> Path:
    return Path(os.environ.get("JUPYTER_CONFIG_DIR", Path.home() / ".jupyter")).expanduser()


def write(path: Path, text: str) -> str:
    return write_config(path, text, "hub/instructor_setup.py") or f"{path}: already set up"


def setup(course_root: Path | None) -> list[str]:
    root = "" if course_root is None else \
        f"os.environ.setdefault('GANCOURSE_COURSE_ROOT', {str(course_root.expanduser().resolve())!r})\n"
    folder = config_dir()
    return [write(folder / "nbgrader_config.py",
                  NBGRADER_CONFIG.format(mark=MARK, course_root=root,
                                         config=str(CHECKOUT / "autograder" / "nbgrader_config.py"))),
            write(folder / "jupyter_server_config.py", SERVER_CONFIG.format(mark=MARK))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--course-root", type=Path, default=None,
                        help="where gradebook.db, submitted/, autograded/ and feedback/ live (default: the checkout)")
    args = parser.parse_args(argv)
    print("\n".join(setup(args.course_root)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
