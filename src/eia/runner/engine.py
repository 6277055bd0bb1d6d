"""A Papermill engine that saves the executed notebook less often, never losing it on failure.

Papermill's own engine writes the whole notebook (serialised and validated) when every
cell starts and again when it completes: about a hundred writes of a notebook that grows
to almost 1 MB, each one in series with the kernel's work. :class:`ThrottledEngine`
keeps Papermill's bookkeeping (cell status, times) and saves while the notebook runs at
most every :data:`SAVE_EVERY_S` seconds, so a long run can still be watched. The end of
execution always saves, whether it finished or stopped with an exception (a timeout, a
dead kernel, an interrupt), so a failed run keeps its partial notebook exactly as with
Papermill's engine; after a normal return Papermill writes it once more itself (with the
error markers of a failed cell when one failed).

Papermill is heavy and only the runner needs it: :mod:`eia.runner.run` imports this module
where it executes a template.
"""

from __future__ import annotations

from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

__all__ = ["ENGINE", "SAVE_EVERY_S", "ThrottledEngine", "ThrottledManager", "register"]

#: The engine's name in Papermill's registry (``papermill.execute_notebook(engine_name=...)``).
ENGINE = "eia-throttled"
#: While the notebook runs, at most one save per this many seconds.
SAVE_EVERY_S = 10.0


class ThrottledManager(NotebookExecutionManager):
    """Papermill's execution manager, saving at most every ``save_every`` seconds while the
    notebook runs and always when it ends (:meth:`notebook_complete`)."""

    def __init__(self, *args, save_every: float = SAVE_EVERY_S, **kwargs):
        super().__init__(*args, **kwargs)
        self.save_every = save_every
        self.saves = 0
        self._ending = False

    def save(self, **kwargs) -> None:
        """Write the notebook if a save is due (see the class docstring)."""
        due = (self.now() - self.last_save_time).total_seconds() >= self.save_every
        if self._ending or due:
            super().save(**kwargs)
            self.saves += 1

    def notebook_complete(self, **kwargs) -> None:
        """Papermill's end-of-notebook bookkeeping and a save, due or not."""
        self._ending = True
        try:
            super().notebook_complete(**kwargs)
        finally:
            self._ending = False


class ThrottledEngine(NBClientEngine):
    """Papermill's nbclient engine with :class:`ThrottledManager` (module docstring)."""

    save_every = SAVE_EVERY_S

    @classmethod
    def execute_notebook(
        cls,
        nb,
        kernel_name,
        output_path=None,
        progress_bar=True,
        log_output=False,
        autosave_cell_every=30,
        **kwargs,
    ):
        """As :meth:`papermill.engines.Engine.execute_notebook`, with :class:`ThrottledManager`."""
        nb_man = ThrottledManager(
            nb,
            output_path=output_path,
            progress_bar=progress_bar,
            log_output=log_output,
            autosave_cell_every=autosave_cell_every,
            save_every=cls.save_every,
        )
        nb_man.notebook_start()
        try:
            cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
        finally:
            nb_man.cleanup_pbar()
            nb_man.notebook_complete()
        return nb_man.nb


def register() -> str:
    """Register :class:`ThrottledEngine` with Papermill (idempotent); returns its name."""
    papermill_engines.register(ENGINE, ThrottledEngine)
    return ENGINE
