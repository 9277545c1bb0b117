"""A real SMTP server for the tests: aiosmtpd, with the behaviours a relay shows in production.

Each accepted message is written to DIR as NNNN.json ({"to": [...], "data": "..."}), atomically.
Prints "ready PORT" once it listens and "accepted FILE" after each message. Options:
  --tls CERT KEY     offer STARTTLS with this certificate, and require it before AUTH and MAIL
  --auth USER:PASS   require AUTH PLAIN/LOGIN with these credentials
  --tempfail N       answer the first N messages' DATA with 451 (try again later)
  --reject ADDR      answer RCPT TO:<ADDR> with 550 (no such user), permanently
  --drop N           in the first N sessions, close the connection at RCPT (the server goes away)
"""

import argparse
import asyncio
import itertools
import json
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--dir", required=True)
    p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--auth")
    p.add_argument("--tempfail", type=int, default=0)
    p.add_argument("--reject", action="append", default=[])
    p.add_argument("--drop", type=int, default=0)
    a = p.parse_args()
    counter = itertools.count(len(os.listdir(a.dir)))
    state = {"tempfail": a.tempfail, "drop": a.drop}

    class Handler:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if state["drop"] > 0:
                state["drop"] -= 1
                server.transport.close()
                return "421 4.3.2 Forbindelsen lukkes"
            if address in a.reject:
                return "550 5.1.1 Mottakeren finnes ikke"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            if state["tempfail"] > 0:
                state["tempfail"] -= 1
                return "451 4.3.0 Midlertidig feil, prov igjen senere"
            path = os.path.join(a.dir, "%04d.json" % next(counter))
            data = envelope.content.decode("utf-8", "replace")
            with open(path + ".tmp", "w") as f:
                json.dump({"to": envelope.rcpt_tos, "data": data}, f)
            os.rename(path + ".tmp", path)
            print("accepted %s" % path, flush=True)
            return "250 Message accepted for delivery"

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and a.auth == "%s:%s" % (
            auth_data.login.decode(),
            auth_data.password.decode(),
        )
        return AuthResult(success=ok, handled=False)

    context = None
    if a.tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*a.tls)
    kwargs = dict(
        tls_context=context,
        require_starttls=bool(a.tls),
        auth_required=bool(a.auth),
        auth_require_tls=bool(a.tls),
        authenticator=authenticator if a.auth else None,
    )

    async def serve():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: SMTP(Handler(), **kwargs), "127.0.0.1", a.port)
        print("ready %d" % server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()

    asyncio.run(serve())


if __name__ == "__main__":
    sys.exit(main())
