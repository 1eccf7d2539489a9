"""nbgrader configuration of the GAN course.

Run nbgrader from the repository root with ``--config autograder/nbgrader_config.py``, or use the
grading command ``python -m autograder.grade`` which does that for you. The instructor run-time
state (gradebook.db, submitted/, autograded/, feedback/) lives in the course root, by default the
repository root, and is git-ignored; set $GANCOURSE_COURSE_ROOT to keep it elsewhere.
"""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

# the course root ($GANCOURSE_COURSE_ROOT, else the checkout) and the gradebook: one rule, the grading command's
from autograder.grade import course_root, gradebook_url  # noqa: E402

ROOT = course_root()
# A course root named in $GANCOURSE_COURSE_ROOT that does not exist yet is made: nbgrader's first command had failed in
# it with a bare FileNotFoundError (an outside tester, following instructors.md)
ROOT.mkdir(parents=True, exist_ok=True)

# nbgrader runs the `alembic` command of its own environment when it creates a gradebook: find it
# there even when that environment is not activated.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

# Math in formgrader's pages and in feedback pages is typeset offline: nbconvert finds the course's MathJax macro
# (autograder/jupyter_data) on $JUPYTER_PATH before its own, which loads MathJax from a CDN; the macro puts
# MathJax inside the page (autograder/offline_math.py).
OFFLINE_MATH = str(HERE / "jupyter_data")
if OFFLINE_MATH not in os.environ.get("JUPYTER_PATH", "").split(os.pathsep):
    os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (OFFLINE_MATH, os.environ.get("JUPYTER_PATH")) if p)
c.TemplateExporter.filters = {"gancourse_mathjax": "autograder.offline_math.mathjax_script"}

c.CourseDirectory.root = str(ROOT)
# A course root outside the checkout ($GANCOURSE_COURSE_ROOT) needs no copy of solutions/: nbgrader then reads the
# checkout's own (an outside tester had to link it in by hand before generate_assignment would run)
c.CourseDirectory.source_directory = "solutions" if (ROOT / "solutions").exists() else str(HERE.parent / "solutions")
c.CourseDirectory.release_directory = "exercises"
# the gradebook: gradebook.db in the course root, or the database $GANCOURSE_DB_URL names (PostgreSQL, say)
c.CourseDirectory.db_url = gradebook_url(ROOT)
# The course id: from the site-wide nbgrader_config.py that hub/setup_exchange.py writes, or from here when
# $GANCOURSE_COURSE_ID is set (the hub's formgrader service gets both). A PostgreSQL gradebook needs one.
if os.environ.get("GANCOURSE_COURSE_ID"):
    c.CourseDirectory.course_id = os.environ["GANCOURSE_COURSE_ID"]
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

# Students: registered by the grading command as it meets them; no roster is needed to autograde.
c.Autograde.create_student = True

# Sanitizing: nbgrader's own steps (clear outputs, restore the test cells from the gradebook, check
# the cells' metadata). Nothing is screened out for how it is written: verdicts come from the judge.
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "autograder.locked_cells.RestoreLockedCells",  # nbgrader's OverwriteCells, warning only for real changes
    "nbgrader.preprocessors.CheckCellMetadata",
]

# nbgrader's gradebook code makes SQLAlchemy warn about its session on every submission: noise in the logs.
import warnings  # noqa: E402

from sqlalchemy.exc import SAWarning  # noqa: E402

warnings.filterwarnings("ignore", category=SAWarning)

# Executing: the kernel runs in a bubblewrap sandbox holding only the submission, and the probes'
# data goes to a separate judge process whose verdicts become nbgrader's own points
# (autograder/sandbox.py, executor.py, judge.py).
from autograder.executor import SandboxedExecute  # noqa: E402
from autograder.judge import JudgeParts  # noqa: E402
from autograder.rubric import HideRubric, ShowRubric  # noqa: E402

c.Autograde.autograde_preprocessors = [
    SandboxedExecute,
    JudgeParts,
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
    # no script, SVG, HTML or markup of the student's reaches the instructor's formgrader page (safe_html.py)
    "autograder.safe_html.NeutralizeActiveContent",
    ShowRubric,  # each written answer's rubric and model answer after it, for formgrader (autograder/rubric.py)
]
# A cell that runs longer than the timeout is interrupted and fails its own part; no history file.
c.SandboxedExecute.extra_arguments = ["--HistoryManager.hist_file=:memory:"]
c.SandboxedExecute.timeout = int(os.environ.get("GANCOURSE_CELL_TIMEOUT", "60"))
c.SandboxedExecute.interrupt_on_timeout = True

# Feedback for students shows the visible tests and each failure's message, not the hidden tests.
from autograder.feedback import HideHiddenTests  # noqa: E402

c.GenerateFeedback.preprocessors = [
    HideRubric,
    "nbgrader.preprocessors.GetGrades",
    HideHiddenTests,
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
# Only the HTML page goes back to the student: no file of the submission folder is copied along.
c.GenerateFeedback.post_convert_hook = "autograder.feedback.keep_only_html"
