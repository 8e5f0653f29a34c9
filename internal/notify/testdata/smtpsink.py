"""A real SMTP server for pingdeck's notify tests (aiosmtpd, Debian's python3-aiosmtpd).

usage: smtpsink.py PORT MAILDIR [USER PASSWORD [login]]

Listens on 127.0.0.1:PORT, writes each message it accepts to MAILDIR/<n>.eml (envelope
sender and recipients on the first two lines), and, given USER and PASSWORD, requires
AUTH (PLAIN or LOGIN) with them (allowed without TLS: the test runs on loopback).
With "login", only AUTH LOGIN is offered. STARTTLS is not offered. Prints "ready" once listening; exits when stdin closes.
"""
import os
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


class Sink:
    def __init__(self, maildir):
        self.maildir = maildir
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        path = os.path.join(self.maildir, "%d.eml" % self.n)
        with open(path + ".tmp", "wb") as f:
            f.write(("MAIL FROM: %s\nRCPT TO: %s\n" % (envelope.mail_from, ",".join(envelope.rcpt_tos))).encode())
            f.write(envelope.original_content)
        os.rename(path + ".tmp", path)
        return "250 OK"


def main():
    port, maildir = int(sys.argv[1]), sys.argv[2]
    params = {}
    if len(sys.argv) >= 5:
        user, password = sys.argv[3].encode(), sys.argv[4].encode()

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = auth_data.login == user and auth_data.password == password
            return AuthResult(success=ok, handled=False)

        params = dict(authenticator=authenticator, auth_required=True, auth_require_tls=False)
        if sys.argv[5:] == ["login"]:
            params["auth_exclude_mechanism"] = ["PLAIN"]
    controller = Controller(Sink(maildir), hostname="127.0.0.1", port=port, **params)
    controller.start()
    print("ready", flush=True)
    sys.stdin.read()
    controller.stop()


main()
