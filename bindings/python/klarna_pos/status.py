"""Session status, with the numbers of the C header's ``KPOS_STATUS_*``."""

from __future__ import annotations

import enum
from typing import Optional

from ._native import from_c, lib


class Status(enum.IntEnum):
    """Distribution status of an in-store payment."""

    CREATED = 0
    """Created locally; no status read yet."""
    WAITING = 1
    """Klarna is preparing the distribution (older API versions)."""
    DISTRIBUTED = 2
    """The QR code / payment link is ready: show it."""
    ACCESSED = 3
    """The customer opened it: show "payment in progress"."""
    COMPLETED = 4
    """Payment done, order placed: ``Session.order_id`` is set. Terminal."""
    CANCELED = 5
    """Cancelled by the till or the customer. Terminal."""
    FAILED = 6
    """Klarna could not complete it: ``Session.failure`` tells why. Terminal."""
    EXPIRED = 7
    """The session ran out of time. Terminal."""
    UNKNOWN = 99
    """A status this version does not know (Klarna added one). Not terminal: keep waiting."""

    @classmethod
    def _missing_(cls, value: object) -> "Status":
        # A number from a newer library is a status Klarna added: forward compatible.
        return cls.UNKNOWN

    @property
    def is_terminal(self) -> bool:
        """True for COMPLETED, CANCELED, FAILED and EXPIRED: the session never moves again."""
        return bool(lib.kpos_status_is_terminal(self.value))

    @property
    def display_text(self) -> str:
        """The English text Klarna's in-store best practices recommend showing the cashier for
        this status, e.g. "Scan the QR code with your phone" (see :func:`display_text`)."""
        return display_text(self)


def display_text(status: int, language: Optional[str] = None) -> str:
    """The text Klarna's in-store best practices recommend showing the cashier for a status
    (``kpos_status_display_text_for``): DISTRIBUTED "Scan the QR code with your phone", ACCESSED
    "Payment in progress", COMPLETED "Payment is done", FAILED "Something went wrong" (show the
    session id next to it, for Klarna's support), ...; a number this version does not know
    gives "Checking the payment status...".

    ``language`` is a BCP 47 tag (``"sv"``, ``"sv-SE"``, ``"nb-NO"``, ``"de-AT"``, ...;
    case-insensitive): the region's text, else the language's, else English (also for
    ``None``). Every text fits two lines of 20 characters."""
    return from_c(lib.kpos_status_display_text_for(int(status), _tag(language))) or ""


def customer_text(status: int, language: Optional[str] = None) -> str:
    """The text to show the customer for a status (``kpos_status_customer_text_for``), e.g.
    DISTRIBUTED "Scan the QR code with your phone camera", ACCESSED "Confirm in the Klarna
    app", COMPLETED "Payment approved. Thank you!", in ``language`` as for
    :func:`display_text`. Every text fits two lines of 32 characters."""
    return from_c(lib.kpos_status_customer_text_for(int(status), _tag(language))) or ""


def _tag(language: Optional[str]) -> Optional[bytes]:
    return None if language is None else language.encode("utf-8", errors="replace")
