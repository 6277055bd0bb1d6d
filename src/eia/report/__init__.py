"""The board's report: sections shown from template cells, maps, figures, HTML, PDF and the index."""
