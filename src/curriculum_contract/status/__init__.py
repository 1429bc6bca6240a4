"""The lab's status page: where every subject stands, and why, read from the history store.

``curriculum-contract serve --store URL`` serves it (standard library only: no new dependency on a rig).
Gathering (:func:`gather_lab`), pages and plot, and the server are apart, so each is tested alone.
"""

from ._errors import AddressUnavailable, StatusError, StoreUnreadable, TokenRequired
from ._gather import LabStatus, SessionView, SubjectStatus, gather_lab, gather_subject
from ._plot import progress_svg
from ._server import StatusServer, make_server

__all__ = [
    "AddressUnavailable",
    "LabStatus",
    "SessionView",
    "StatusError",
    "StatusServer",
    "StoreUnreadable",
    "SubjectStatus",
    "TokenRequired",
    "gather_lab",
    "gather_subject",
    "make_server",
    "progress_svg",
]
