"""The one exception users see: a mistake or missing resource, told in one line; and the warnings
they never see."""
import warnings


class PolyuniError(Exception):
    """A failure the user can act on. The CLI prints its message without a traceback."""


def quiet_numerics() -> None:
    """numpy's RuntimeWarnings (a division by zero, the mean of nothing) never reach the terminal:
    the code turns such cases into nulls or one-line errors, and the warnings' multi-line text would
    only bury the real output. Called by the command line, and in each Dask task (another process)."""
    warnings.filterwarnings("ignore", category=RuntimeWarning)
