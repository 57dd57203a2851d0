"""A real Dovecot IMAP server on loopback, for tests.

`Dovecot` writes its own minimal configuration into a fresh temporary directory, runs
`dovecot -F -c <config>` as a child process and serves one static user over plain IMAP
on a free 127.0.0.1 port. The server can be restarted on the same port and mail store, so
a client sees it go away and come back. The `dovecot` fixture skips (with a reason) where
Dovecot can't run here, except under CI with the binary present, where that is a failure.

Dovecot must be started as root: the master drops privileges to the internal accounts
and runs the mail processes as an unprivileged uid (nobody/nogroup).
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from imapclient import IMAPClient

HOST = "127.0.0.1"
FOLDERS = ("INBOX", "Sent", "Processed")
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0

# Accounts the Debian packages create; the master drops privileges to these.
INTERNAL_USER = "dovecot"
LOGIN_USER = "dovenull"
INTERNAL_GROUP = "dovecot"


def dovecot_binary() -> str | None:
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin", "/sbin"])
    return shutil.which("dovecot", path=path)


def _account_ids() -> tuple[int, int]:
    """uid/gid of the unprivileged account the mail processes run as."""
    try:
        uid = pwd.getpwnam("nobody").pw_uid
    except KeyError:
        uid = 65534
    for group in ("nogroup", "nobody"):
        try:
            return uid, grp.getgrnam(group).gr_gid
        except KeyError:
            continue
    return uid, 65534


def dovecot_available() -> str | None:
    """None when a test Dovecot can run here, else why not (for pytest.skip)."""
    if dovecot_binary() is None:
        return "dovecot not installed (apt-get install dovecot-imapd)"
    if os.geteuid() != 0:
        return "dovecot must start as root to drop privileges; tests not running as root"
    for user in (INTERNAL_USER, LOGIN_USER):
        try:
            pwd.getpwnam(user)
        except KeyError:
            return f"system account {user!r} missing (normally created by dovecot-core)"
    try:
        grp.getgrnam(INTERNAL_GROUP)
    except KeyError:
        return f"system group {INTERNAL_GROUP!r} missing (normally created by dovecot-core)"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def _group_alive(pgid: int) -> bool:
    """Whether a process of group `pgid` still runs (zombies awaiting a reaper don't count)."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
        fields = stat.rpartition(")")[2].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


class DovecotError(RuntimeError):
    pass


class Dovecot:
    """One throwaway Dovecot: a static user over plain IMAP on 127.0.0.1:`port`."""

    def __init__(self, username: str = "inquiry@example.com", password: str = "secret") -> None:
        self.host = HOST
        self.port = free_port()
        self.username = username
        self.password = password
        self.uid, self.gid = _account_ids()
        # Not pytest's tmp_path: its 0700 parents would keep the mail user out.
        self.root = Path(tempfile.mkdtemp(prefix="dovecot-test-", dir="/tmp"))
        self.base_dir = self.root / "run"
        self.state_dir = self.root / "state"
        self.mail_root = self.root / "mail"
        self.log_path = self.root / "dovecot.log"
        self.config_path = self.root / "dovecot.conf"
        self.output_path = self.root / "dovecot.out"
        self._process: subprocess.Popen | None = None
        self._prepare()

    # -- lifecycle -------------------------------------------------------------------------

    def _prepare(self) -> None:
        for path in (self.base_dir, self.state_dir, self.mail_root):
            path.mkdir()
        for path in (self.root, self.base_dir, self.state_dir, self.mail_root):
            path.chmod(0o755)
        os.chown(self.mail_root, self.uid, self.gid)
        self.config_path.write_text(self.config())

    def config(self) -> str:
        return f"""\
# Generated by tests/dovecot.py: a throwaway test server, nothing else is read.
base_dir = {self.base_dir}
state_dir = {self.state_dir}
instance_name = dovecot-test-{self.port}
log_path = {self.log_path}
info_log_path = {self.log_path}
debug_log_path = {self.log_path}

protocols = imap
listen = {HOST}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# Answer a wrong password at once (default: after 2 secs) to keep tests fast.
auth_failure_delay = 0

default_internal_user = {INTERNAL_USER}
default_internal_group = {INTERNAL_GROUP}
default_login_user = {LOGIN_USER}
first_valid_uid = {self.uid}
last_valid_uid = {self.uid}
first_valid_gid = {self.gid}
last_valid_gid = {self.gid}

passdb {{
  driver = static
  args = password={self.password}
}}
userdb {{
  driver = static
  args = uid={self.uid} gid={self.gid} home={self.mail_root}/%u
}}

mail_location = maildir:~/Maildir
# IDLE learns of new mail through inotify; poll often too in case that is unavailable.
mailbox_idle_check_interval = 1 secs

namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
  mailbox Processed {{
    auto = subscribe
  }}
}}

service imap-login {{
  inet_listener imap {{
    address = {HOST}
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}

protocol imap {{
  mail_max_userip_connections = 50
}}
"""

    def start(self) -> None:
        """Start the server; returns once a LOGIN works, else raises with the log's tail."""
        if self.running:
            return
        self._halt(signal.SIGKILL)  # whatever is left of a master that died on its own
        binary = dovecot_binary()
        if binary is None:
            raise DovecotError("dovecot binary not found")
        if _port_open(self.port):
            raise DovecotError(f"port {self.port} is already taken")
        # Only startup errors (before the log file is opened) reach stdout/stderr.
        with self.output_path.open("ab") as output:
            self._process = subprocess.Popen(
                [binary, "-F", "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, for stop()
            )
        try:
            self._wait_ready()
        except BaseException:
            self._halt(signal.SIGKILL)
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise DovecotError(
                    f"dovecot exited with status {self._process.returncode}\n"
                    f"{self._output()}{self.log_tail()}"
                )
            try:
                # LOGIN alone proves little: Dovecot answers OK before the mail process
                # runs as the mail user, which can still fail (uid not permitted, home not
                # writable). Opening INBOX (which creates the Maildir) proves the rest.
                client = self.client(timeout=2.0)
                try:
                    client.select_folder("INBOX", readonly=True)
                finally:
                    with contextlib.suppress(Exception):
                        client.logout()
                return
            except Exception as exc:  # refused until it listens
                last_error = exc
            time.sleep(0.05)
        raise DovecotError(
            f"dovecot not ready on {self.host}:{self.port} within {START_TIMEOUT:.0f}s"
            f" (last error: {last_error!r})\n{self.log_tail()}"
        )

    def stop(self) -> None:
        """Shut the server down as an administrator would, and wait for the port to close.

        Every process of the instance gets SIGTERM: Dovecot 2.3's master leaves imap
        processes that still have a client (and the log process serving them) running when
        it exits, so signalling only the master would keep old sessions alive. SIGTERM is
        repeated until the master is gone because a master that has not yet begun shutting
        down respawns what died (the log process must always run), and then waits up to
        5 seconds for those fresh processes on its way out.
        """
        self._halt(signal.SIGTERM)

    def _halt(self, sig: signal.Signals) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        group = process.pid  # start_new_session: the master leads its own process group
        deadline = time.monotonic() + STOP_TIMEOUT
        while True:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, sig)
            try:
                process.wait(0.05)
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() > deadline:
                    sig = signal.SIGKILL
        # Children the master did not wait for (imap sessions, their log process).
        deadline = time.monotonic() + STOP_TIMEOUT
        while _group_alive(group):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, sig if time.monotonic() < deadline else signal.SIGKILL)
            time.sleep(0.02)
        deadline = time.monotonic() + STOP_TIMEOUT
        while _port_open(self.port):
            if time.monotonic() > deadline:
                raise DovecotError(f"port {self.port} still open after stopping dovecot")
            time.sleep(0.05)

    def restart(self) -> None:
        """Stop, then start again on the same port and mail store."""
        self.stop()
        self.start()

    def cleanup(self) -> None:
        """Kill the server outright (its mail is thrown away) and delete its directory."""
        self._halt(signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> Dovecot:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cleanup()

    def _output(self) -> str:
        try:
            text = self.output_path.read_text(errors="replace").strip()
        except OSError:
            return ""
        return f"dovecot output:\n{text}\n" if text else ""

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no dovecot log)"
        return "dovecot log tail:\n" + "\n".join(text.splitlines()[-lines:])

    # -- helpers for tests -----------------------------------------------------------------

    def client(self, timeout: float = 5.0) -> IMAPClient:
        """A new logged-in client; log it out (or use it as a context manager)."""
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=timeout)
        try:
            client.login(self.username, self.password)
        except BaseException:
            with contextlib.suppress(Exception):
                client.shutdown()
            raise
        return client

    @contextlib.contextmanager
    def _session(self) -> Iterator[IMAPClient]:
        client = self.client()
        try:
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.logout()

    def append(self, raw: bytes, folder: str = "INBOX", flags: Iterable[str | bytes] = ()) -> int:
        """Append a message; returns its UID."""
        with self._session() as client:
            answer = client.append(folder, raw, flags=tuple(flags))
        # Dovecot answers "[APPENDUID <uidvalidity> <uid>] Append completed."
        text = answer.decode() if isinstance(answer, bytes) else str(answer)
        if text.startswith("[APPENDUID "):
            return int(text.split()[2].rstrip("]"))
        return max(self.uids(folder))

    def uids(self, folder: str = "INBOX") -> list[int]:
        with self._session() as client:
            client.select_folder(folder, readonly=True)
            return sorted(client.search("ALL"))

    def flags(self, uid: int, folder: str = "INBOX") -> tuple[bytes, ...]:
        """The message's flags, without the per-session \\Recent."""
        with self._session() as client:
            client.select_folder(folder, readonly=True)
            flags = client.get_flags([uid]).get(uid, ())
        return tuple(flag for flag in flags if flag != b"\\Recent")

    def count(self, folder: str = "INBOX") -> int:
        with self._session() as client:
            return client.folder_status(folder, ["MESSAGES"])[b"MESSAGES"]


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.fixture(name="dovecot")
def dovecot() -> Iterator[Dovecot]:
    """A started throwaway Dovecot; skips where it can't run (fails instead under CI).

    Register it with `from tests.dovecot import dovecot  # noqa: F401` in a conftest; in a
    test module import it under another name (the fixture keeps its name "dovecot"), or
    ruff flags every test parameter `dovecot` as F811 (redefinition of an unused import).
    """
    reason = dovecot_available()
    if reason is not None:
        if _ci() and dovecot_binary() is not None:
            pytest.fail(f"dovecot is installed but unusable under CI: {reason}")
        pytest.skip(reason)
    server = Dovecot()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()
