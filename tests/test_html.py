"""The report's HTML: setting figures aside while nbconvert exports changes no byte."""

from __future__ import annotations

import base64

import nbformat
from hypothesis import given, settings
from hypothesis import strategies as st
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from eia.report import html


def _notebook(images: list[bytes]) -> nbformat.NotebookNode:
    data = [base64.b64encode(b).decode("ascii") for b in images]
    figures = "".join(
        f'<figure><img src="data:image/png;base64,{d}" alt="a map"><figcaption>Map {i}'
        "</figcaption></figure>"
        for i, d in enumerate(data)
    )
    cells = [
        new_markdown_cell("# A section\n\nSome words & a table."),
        new_code_cell(
            "show(...)",
            outputs=[new_output("display_data", {"text/html": f"<p>Before</p>{figures}"})],
        ),
        new_code_cell(
            "fig",
            outputs=[
                new_output("display_data", {"image/png": d, "text/plain": "<Figure>"}) for d in data
            ],
        ),
    ]
    return new_notebook(cells=cells)


@settings(max_examples=5, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=3000), min_size=1, max_size=3))
def test_figures_set_aside_give_the_same_html(images):
    nb = _notebook(images)
    fast = html.render(nb, "Title")
    original = html._Images.take_from
    try:
        html._Images.take_from = lambda self, nb: None  # nbconvert on the whole notebook
        plain = html.render(nb, "Title")
    finally:
        html._Images.take_from = original
    assert fast == plain
    for image in images:
        assert base64.b64encode(image).decode("ascii") in fast
