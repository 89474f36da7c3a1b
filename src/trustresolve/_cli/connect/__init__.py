"""--connect: the connection doctor.

:mod:`.target` parses what to reach, :mod:`.client` builds the context the user's code would
get, :mod:`.wire` talks to the server under one deadline, :mod:`.negotiate` starts TLS the way a
database expects (PostgreSQL's SSLRequest, MySQL's greeting), :mod:`.verdicts` names the cause,
:mod:`.report` prints it; :mod:`.doctor` runs the steps in order.
"""

from __future__ import annotations

from .doctor import EXIT_FAILED, EXIT_VERIFIED, Diagnosis, connect, diagnose
from .target import Target, parse_target
from .verdicts import Cause, Verdict, protocol_advice

__all__ = [
    "EXIT_FAILED",
    "EXIT_VERIFIED",
    "Cause",
    "Diagnosis",
    "Target",
    "Verdict",
    "connect",
    "diagnose",
    "parse_target",
    "protocol_advice",
]
