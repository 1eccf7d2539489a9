"""Sphinx extension: no Colab button on the assignment pages.

The chapters' notebooks start with a cell that installs the course on Colab (scripts/
chapter_notebooks.py). The assignments are nbgrader's student notebooks, which have no such cell,
and students fetch them on the course's JupyterHub: a Colab button there would open a notebook
whose first import fails. Binder and JupyterHub install the course, so their buttons stay.
"""


def _drop_colab(app, pagename, templatename, context, doctree):
    if not pagename.startswith("exercises/"):
        return
    for group in context.get("header_buttons", []):
        if group.get("label") == "launch-buttons":
            group["buttons"][:] = [b for b in group["buttons"] if b.get("text") != "Colab"]


def setup(app):
    app.connect("html-page-context", _drop_colab, priority=800)  # after sphinx-book-theme adds the buttons
    return {"parallel_read_safe": True, "parallel_write_safe": True}
