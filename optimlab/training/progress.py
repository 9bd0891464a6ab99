"""The progress display of ``Trainer.fit`` (rich)."""

from __future__ import annotations


class Progress:
    """Rich progress bar over epochs (verbose=1), one line per epoch (2), nothing (0)."""

    def __init__(self, verbose: int, epochs: int, start: int):
        self.verbose = verbose
        self._bar = None
        if verbose == 0:
            return
        from rich.console import Console

        self.console = Console(stderr=True)
        if verbose == 1:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(TextColumn("epoch"), MofNCompleteColumn(), BarColumn(), TimeElapsedColumn(),
                                 TextColumn("{task.description}"), console=self.console, transient=False)
            self._bar.start()
            self._task = self._bar.add_task("", total=epochs, completed=start)

    @staticmethod
    def _fmt(logs: dict) -> str:
        return "  ".join(f"{k} {v:.4g}" for k, v in logs.items() if k != "time")

    def epoch(self, epoch: int, logs: dict) -> None:
        if self.verbose == 1 and self._bar is not None:
            self._bar.update(self._task, advance=1, description=self._fmt(logs))
        elif self.verbose == 2:
            self.console.print(f"epoch {epoch + 1}: {self._fmt(logs)}")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
