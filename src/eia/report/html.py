"""Rendering an executed assessment notebook to the board's self-contained HTML.

Uses nbconvert's HTML exporter with the ``eia`` template (``assets/eia``),
which extends JupyterLab's layout but drops every script, CDN link, code
input, prompt, stream and error, inlines the stylesheet, and turns figures
into ``<figure>`` elements with their alt text and caption. The result opens
offline and prints to A4.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

from eia._version import __version__

ASSETS = Path(__file__).parents[1] / "assets"
BANNER = "Equity impact assessment report"


def exporter() -> HTMLExporter:
    """An HTML exporter configured for board reports (no code, no prompts, no anchors)."""
    exp = HTMLExporter(
        template_name="eia",
        extra_template_basedirs=[str(ASSETS)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        exclude_anchor_links=True,
        embed_images=True,
    )
    return exp


def render(notebook: nbformat.NotebookNode | Path | str, title: str, *, footer: str = "") -> str:
    """The report's HTML for an executed notebook; ``title`` becomes the ``<title>``."""
    nb = (
        notebook
        if isinstance(notebook, nbformat.NotebookNode)
        else nbformat.read(notebook, as_version=4)
    )
    nb = nbformat.from_dict(nb)
    nb.metadata["title"] = title
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    resources = {
        "eia_css": (ASSETS / "eia" / "report.css").read_text(encoding="utf-8"),
        "eia_version": __version__,
        "eia_banner": BANNER,
        "eia_footer": footer
        or f"Produced with eia {__version__}, an open-source equity impact assessment framework.",
        "language_code": "en-GB",
    }
    body, _ = exporter().from_notebook_node(nb, resources=resources)
    return body


def write(notebook: Path | str, html_path: Path | str, title: str, *, footer: str = "") -> Path:
    """Render ``notebook`` and write the HTML to ``html_path``."""
    html_path = Path(html_path)
    html_path.write_text(render(notebook, title, footer=footer), encoding="utf-8")
    return html_path
