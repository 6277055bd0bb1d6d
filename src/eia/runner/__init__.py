"""Running assessments: notebook templates, one run, a batch, and the command line."""
