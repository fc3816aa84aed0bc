"""Session status, with the numbers of the C header's ``KPOS_STATUS_*``."""

from __future__ import annotations

import enum

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


def display_text(status: int) -> str:
    """The English text Klarna's in-store best practices recommend showing for a status
    (``kpos_status_display_text``): DISTRIBUTED "Scan the QR code with your phone", ACCESSED
    "Payment in progress", COMPLETED "Payment is done", FAILED "Something went wrong" (show the
    session id next to it, for Klarna's support), ...; a number this version does not know
    gives "Checking the payment status..."."""
    return from_c(lib.kpos_status_display_text(int(status))) or ""
