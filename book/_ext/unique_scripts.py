"""Sphinx extension: drop duplicate <script> tags from every page.

sphinx-thebe registers its inline configuration once per read of the environment, and Jupyter Book
triggers that twice, so each page declared ``const THEBE_JS_URL`` twice: a JavaScript error in
every reader's console. Keeping the first copy of each script fixes it.
"""


def _unique(app, pagename, templatename, context, doctree):
    seen, kept = set(), []
    for script in context.get("script_files", []):
        filename = getattr(script, "filename", script) or ""  # inline scripts: None or ""
        key = (str(filename), tuple(sorted((k, str(v)) for k, v in getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    context["script_files"][:] = kept  # in place: other handlers hold this list


def setup(app):
    app.connect("html-page-context", _unique, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
