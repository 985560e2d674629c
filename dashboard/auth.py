"""The optional login of a team server: users with hashed passwords, and who may save.

Users come from a file (``FLEET_AUTH_FILE``, one ``user:hash`` a line, ``#`` comments)
or the environment (``FLEET_AUTH_USERS``, ``user:hash`` pairs separated by commas or
newlines). Hashes are Werkzeug's (scrypt or pbkdf2); make one with
``python -m dashboard.auth USER`` (it asks for the password). Basic authentication
sends the password with every request: serve the team server behind TLS.

``FLEET_AUTH_EDITORS`` names the users who may save scenarios (``*``: all); the
others may only watch. :func:`audit_save` logs every save and overwrite with the
user and the time.
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import hmac
import logging
import secrets
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from .errors import DashboardError

log = logging.getLogger(__name__)
audit_log = logging.getLogger("dashboard.audit")

MAX_USER_CHARS = 64
VERIFIED_TTL_S = 600.0  # a verified password is not re-hashed for this long (scrypt costs ~50 ms)
VERIFIED_MAX = 1024


class AuthError(DashboardError, ValueError):
    """The users file or variable is malformed."""


def parse_users(text: str, where: str) -> dict[str, str]:
    """``user:hash`` entries (lines or commas) as a dict; ``where`` names the file or variable."""
    users: dict[str, str] = {}
    entries = [(i + 1, part) for i, line in enumerate(text.splitlines()) for part in line.split(",")]
    for line_no, raw in entries:
        entry = raw.strip()
        if not entry or entry.startswith("#"):
            continue
        user, sep, digest = entry.partition(":")
        user = user.strip()
        at = f"{where}: line {line_no}" if "\n" in text.strip() else where
        if not sep or not user or not digest.strip():
            raise AuthError(f"{at}: expected user:password-hash, got an entry without both parts")
        if len(user) > MAX_USER_CHARS or any(ch.isspace() or ord(ch) < 32 for ch in user):
            raise AuthError(f"{at}: user names are at most {MAX_USER_CHARS} characters without spaces")
        method = digest.strip().split("$", 1)[0]
        if not method.startswith(("scrypt", "pbkdf2")):
            raise AuthError(
                f"{at}: the password of {user!r} is not a Werkzeug hash (scrypt:... or pbkdf2:...); "
                "make one with: python -m dashboard.auth USER"
            )
        if user in users:
            raise AuthError(f"{at}: user {user!r} is listed twice")
        users[user] = digest.strip()
    if not users:
        raise AuthError(f"{where}: lists no user")
    return users


@dataclass(frozen=True)
class Login:
    """Who may log in and who may save."""

    users: dict[str, str]
    editors: tuple[str, ...] | None = None  # None or ("*",): everyone who can log in

    def may_edit(self, user: str | None) -> bool:
        if user is None or user not in self.users:
            return False
        return self.editors is None or "*" in self.editors or user in self.editors


def load_login(settings) -> Login | None:
    """The login the settings ask for, or None when none is configured."""
    users: dict[str, str] = {}
    if settings.auth_file is not None:
        path = Path(settings.auth_file)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise AuthError(f"FLEET_AUTH_FILE: cannot read {path}: {exc.__class__.__name__}") from None
        users.update(parse_users(text, f"FLEET_AUTH_FILE ({path.name})"))
    if settings.auth_users:
        for user, digest in parse_users(settings.auth_users, "FLEET_AUTH_USERS").items():
            if user in users:
                raise AuthError(f"FLEET_AUTH_USERS: user {user!r} is also in FLEET_AUTH_FILE")
            users[user] = digest
    if not users:
        return None
    if settings.auth_editors:
        unknown = [u for u in settings.auth_editors if u != "*" and u not in users]
        if unknown:
            raise AuthError(f"FLEET_AUTH_EDITORS: {', '.join(map(repr, unknown))} cannot log in (not among the users)")
    return Login(users, settings.auth_editors)


class PasswordChecker:
    """Checks passwords against their hashes, remembering recent successes.

    Browsers resend the password with every request (one a second per tab); hashing it
    each time would cost a core. A success is remembered for ``VERIFIED_TTL_S`` under a
    keyed digest of user and password (never the password itself).
    """

    def __init__(self, login: Login):
        self.login = login
        self._key = secrets.token_bytes(32)
        self._verified: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, user: str, password: str) -> bool:
        from werkzeug.security import check_password_hash

        digest = self.login.users.get(user)
        if digest is None:
            return False
        token = hmac.new(self._key, f"{user}\x00{password}\x00{digest}".encode(), hashlib.sha256).digest()
        now = time.monotonic()
        with self._lock:
            seen = self._verified.get(token)
            if seen is not None and now - seen < VERIFIED_TTL_S:
                return True
        try:
            ok = check_password_hash(digest, password)
        except (ValueError, TypeError):
            log.warning("the password hash of user %r cannot be checked", user)
            return False
        if ok:
            with self._lock:
                self._verified[token] = now
                self._verified.move_to_end(token)
                while len(self._verified) > VERIFIED_MAX:
                    self._verified.popitem(last=False)
        return ok


def audit_save(user: str | None, path: str, *, overwrite: bool) -> None:
    """Log a save (or an overwrite) of ``path`` by ``user`` with the time, to ``dashboard.audit``."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    audit_log.info(
        "%s %s %s by %s", stamp, "overwrote" if overwrite else "saved", path, user or "anonymous"
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m dashboard.auth USER``: print ``USER:hash`` for the users file."""
    parser = argparse.ArgumentParser(
        prog="python -m dashboard.auth",
        description="Hash a password for FLEET_AUTH_FILE / FLEET_AUTH_USERS (prints user:hash).",
    )
    parser.add_argument("user", help="the user name")
    parser.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    args = parser.parse_args(argv)
    from werkzeug.security import generate_password_hash

    user = args.user.strip()
    if not user or len(user) > MAX_USER_CHARS or any(ch.isspace() or ch in ":," for ch in user):
        print(f"error: user names are 1-{MAX_USER_CHARS} characters without spaces, ':' or ','", file=sys.stderr)
        return 2
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {user}: ")
        if getpass.getpass("again: ") != password:
            print("error: the passwords differ", file=sys.stderr)
            return 2
    if len(password) < 8:
        print("error: use at least 8 characters", file=sys.stderr)
        return 2
    print(f"{user}:{generate_password_hash(password)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
