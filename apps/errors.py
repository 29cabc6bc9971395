"""Turn what a handler raises into what the browser shows.

A typed :class:`~toolkit.errors.DftkError` becomes a ``gr.Error`` carrying its one-line
message (no traceback is printed or sent). Anything else is a bug: it is logged on the
server with its traceback and the browser gets a short "internal error" line.
"""

from __future__ import annotations

import functools
import inspect
import logging
from typing import Any, Callable, TypeVar

import gradio as gr

from toolkit.errors import DftkError, JobCancelled

log = logging.getLogger("dftk.web")

F = TypeVar("F", bound=Callable[..., Any])


def to_gr_error(exc: BaseException) -> gr.Error:
    """The ``gr.Error`` a user sees for ``exc``."""
    if isinstance(exc, gr.Error):
        return exc
    if isinstance(exc, JobCancelled):
        return gr.Error(exc.message, title="Cancelled", print_exception=False)
    if isinstance(exc, DftkError):
        return gr.Error(exc.message, title=_title(exc), print_exception=False)
    log.exception("internal error in a web handler")
    return gr.Error(f"internal error: {type(exc).__name__} (details are in the server log)",
                    print_exception=False)


def _title(exc: DftkError) -> str:
    return exc.kind.replace("_", " ").capitalize()


def user_errors(fn: F) -> F:
    """Decorate a Gradio handler (plain function or generator) so errors reach users as
    one-line ``gr.Error`` messages. The wrapper keeps ``fn``'s signature, so Gradio still
    injects ``gr.Progress`` and ``gr.Request`` parameters."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                yield from fn(*args, **kwargs)
            except Exception as exc:
                raise to_gr_error(exc) from None

        return gen_wrapper  # type: ignore[return-value]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise to_gr_error(exc) from None

    return wrapper  # type: ignore[return-value]
