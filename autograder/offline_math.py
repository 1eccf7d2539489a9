"""MathJax inside the page, for formgrader's pages and the feedback pages students get back.

nbconvert's HTML templates load MathJax from a CDN, so on a hub without internet the math of formgrader's
manual-grading pages and of every feedback page stays raw TeX. The course's MathJax macro
(``autograder/jupyter_data/nbconvert/templates/base/mathjax.html.j2``) calls ``mathjax_script``, registered as
the Jinja filter ``gancourse_mathjax`` in autograder/nbgrader_config.py: it returns MathJax 3 (SVG output, every
TeX extension, about 2.3 MB) as inline scripts, from the copy the book serves (``make setup`` fetches it from
npm into book/_static/vendor). Without that copy the page falls back to the CDN, and the grading log says so.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
SOURCES = (CHECKOUT / "book" / "_static" / "vendor" / "mathjax" / "tex-svg-full.js",
           CHECKOUT / "book" / "node_modules" / "mathjax" / "es5" / "tex-svg-full.js")
CDN = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-svg-full.js"
SETTINGS = """<script>
window.MathJax = {
  tex: {inlineMath: [['$', '$'], ['\\\\(', '\\\\)']], displayMath: [['$$', '$$'], ['\\\\[', '\\\\]']],
        processEscapes: true, processEnvironments: true},
  svg: {fontCache: 'global'}
};
</script>
"""


@functools.cache
def mathjax_script(_url: str | None = None) -> str:
    """The ``<script>`` elements that typeset the page's TeX: MathJax's settings, then MathJax itself."""
    for source in SOURCES:
        if source.is_file():
            code = source.read_text(encoding="utf-8").replace("</script", "<\\/script")
            return f"{SETTINGS}<script>{code}</script>\n"
    logging.getLogger(__name__).warning("no local MathJax (%s): run `make setup`; pages load it from %s",
                                        SOURCES[0], CDN)
    return f'{SETTINGS}<script src="{CDN}"></script>\n'
