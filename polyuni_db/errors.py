"""The one exception users see: a mistake or missing resource, told in one line."""


class PolyuniError(Exception):
    """A failure the user can act on. The CLI prints its message without a traceback."""
