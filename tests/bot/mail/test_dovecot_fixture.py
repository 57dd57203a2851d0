"""The real-Dovecot fixture itself: mail in and out, restarts, IDLE, and refused logins."""

from __future__ import annotations

import time

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from tests.conftest import make_mail
from tests.dovecot import Dovecot
from tests.dovecot import dovecot as dovecot_fixture  # noqa: F401  (the "dovecot" fixture)


def test_append_list_and_flags(dovecot: Dovecot):
    assert dovecot.uids() == []
    first = dovecot.append(make_mail("First", "one"))
    second = dovecot.append(make_mail("Second", "two"), flags=[b"\\Seen", b"\\Flagged"])
    sent = dovecot.append(make_mail("Reply", "three"), folder="Sent", flags=[b"\\Seen"])

    assert dovecot.uids() == [first, second]
    assert dovecot.count("INBOX") == 2
    assert dovecot.count("Sent") == 1
    assert dovecot.count("Processed") == 0
    assert dovecot.flags(first) == ()
    assert set(dovecot.flags(second)) == {b"\\Seen", b"\\Flagged"}
    assert dovecot.flags(sent, folder="Sent") == (b"\\Seen",)

    with dovecot.client() as client:
        folders = {name: flags for flags, _, name in client.list_folders()}
        assert {"INBOX", "Sent", "Processed"} <= set(folders)
        assert b"\\Sent" in folders["Sent"]
        assert {"Sent", "Processed"} <= {name for _, _, name in client.list_sub_folders()}
        client.select_folder("INBOX")
        fetched = client.fetch([second], ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
        assert b"Subject: Second" in fetched[second][b"BODY[HEADER.FIELDS (SUBJECT)]"]


def test_restart_keeps_mail_and_drops_clients(dovecot: Dovecot):
    port = dovecot.port
    uid = dovecot.append(make_mail("Survivor", "still here"), flags=[b"\\Seen"])
    old = dovecot.client()
    old.select_folder("INBOX")

    dovecot.restart()

    assert dovecot.port == port
    with pytest.raises((IMAPClientError, OSError)):
        old.noop()
    with dovecot.client() as client:
        client.select_folder("INBOX")
        assert client.search("ALL") == [uid]
    assert dovecot.flags(uid) == (b"\\Seen",)
    assert dovecot.append(make_mail("After", "restart")) > uid


def test_idle_sees_new_mail(dovecot: Dovecot):
    with dovecot.client() as watcher:
        watcher.select_folder("INBOX")
        watcher.idle()
        try:
            dovecot.append(make_mail("Wake up", "new mail"))
            deadline = time.monotonic() + 2.0
            responses: list = []
            while time.monotonic() < deadline:
                responses += watcher.idle_check(timeout=max(0.0, deadline - time.monotonic()))
                if any(len(r) >= 2 and r[1] == b"EXISTS" for r in responses):
                    break
        finally:
            watcher.idle_done()
    assert (1, b"EXISTS") in responses


def test_wrong_password_is_refused(dovecot: Dovecot):
    client = IMAPClient(dovecot.host, port=dovecot.port, ssl=False, timeout=5)
    try:
        with pytest.raises(LoginError):
            client.login(dovecot.username, "not-the-password")
    finally:
        client.shutdown()
