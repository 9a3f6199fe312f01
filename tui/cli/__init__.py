"""The command-line front: the same verbs as the TUI; logs go to stderr, results to stdout."""

# Every verb takes --json. Errors a user can cause print one line and a hint, exit non-zero, and
# never show a traceback. Heavy imports (pydantic models, the docker SDK, Textual) stay inside the
# verbs, so `podbay exec` starts fast.

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

from podbay.tui.output import fail

__all__ = ["entry", "main"]


def entry() -> None:
    """The `podbay` command: main, then an exit without Python's finalization, which frees every
    module's objects one by one (pydantic's are many) and costs about 40 ms at every command.
    Taken only when nothing is left for it to do: this is the one thread, the output is
    flushed, and the exit handlers (logging's) have run."""
    import atexit
    import contextlib
    import os
    import threading

    # podbay uses no pydantic plugins; looking for them reads every installed package's
    # metadata at the first model (about 10 ms of every command).
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    code = main()
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if threading.active_count() != 1 or run_exit_handlers is None:
        raise SystemExit(code)
    run_exit_handlers()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away before the last of the output (`podbay list | head -0`).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = code or 141
    except (OSError, ValueError):
        raise SystemExit(code) from None
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        from podbay.tui.app import run_tui

        return run_tui()
    if args[0] == "up":
        from podbay.core.quick_up import try_up

        answered = try_up(args[1:])
        if answered is not None:
            return answered
    from podbay.tui.cli.parser import build_parser

    parser = build_parser()
    ns, extra = parser.parse_known_args(args)
    if extra and ns.command not in ("exec", "ssh"):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if ns.command in ("exec", "ssh"):
        ns.cmd = [*ns.cmd, *extra]
    json_mode = bool(getattr(ns, "json", False))
    from podbay.core.errors import PodbayError

    try:
        return int(ns.func(ns) or 0)
    except PodbayError as exc:
        return fail(exc.message, exc.hint, json_mode, exc.kind)
    except KeyboardInterrupt:
        print("\npodbay: interrupted; run the same command again to finish", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`podbay list | head -0`): nothing is wrong, nothing more to say.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # as a shell reports a command ended by SIGPIPE
    except Exception as exc:
        from podbay.core.environment import explain

        known = explain(exc)  # a full disk, a damaged state file, permissions: not bugs
        if known is not None:
            return fail(known.message, known.hint, json_mode, known.kind)
        # A bug: say so in one line, keep the traceback in a private file.
        where = _save_traceback()
        first = str(exc).splitlines()[0] if str(exc) else ""
        return fail(
            f"internal error: {type(exc).__name__}: {first}",
            f"this is a bug in podbay; the details are in {where}",
            json_mode,
            "internal",
        )


def _save_traceback() -> str:
    """Append the traceback to $PODBAY_HOME/logs/_crash.log (0600, never through a symlink);
    where that cannot be written, print it instead."""
    import os
    import traceback

    from podbay.core.model import redact_url

    text = (
        f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} podbay "
        + " ".join(redact_url(arg) for arg in sys.argv[1:])
        + "\n"
        + traceback.format_exc()
    )
    try:
        from podbay.core import paths

        path = paths.crash_log(paths.home())
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW
        fd = os.open(path, flags, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as log:
            log.write(text)
        return str(path)
    except Exception:
        sys.stderr.write(text)
        return "the traceback above"
