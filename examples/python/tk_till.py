#!/usr/bin/env python3
"""A till with a window (Tk): one Klarna in-store payment, event-driven.

    tk_till.py ORDER.json [--language TAG] [--timeout-ms N] [--close-when-done]

Credentials and endpoint come from the environment (KLARNA_API_URL, KLARNA_USERNAME,
KLARNA_PASSWORD). The window shows the QR code, the cashier's text and the customer display's
text in the language of ``--language`` (a BCP 47 tag such as ``sv-SE``; English by default),
and a Cancel button. The till never blocks its UI thread: the library follows the payment in
the background and calls the session's listener on its own thread; the listener only puts the
status in a queue, which Tk's loop drains (Tk may be used from its own thread only). The same
pattern serves WinForms/WPF (``Control.BeginInvoke``), Qt (a queued signal) and Win32
(``PostMessage``).

Every event is also printed as ``key=value`` lines, as examples/c/till.c prints them:
session_id, qr_url, status, display, customer, order_id. ``--timeout-ms`` (default 120000)
cancels the payment when the customer takes too long, as Klarna recommends;
``--close-when-done`` closes the window a second after the final status.

Exit status: 0 COMPLETED; 2 CANCELED, FAILED or EXPIRED; 1 a library error; 64 a mistake on the
command line.
"""

import base64
import importlib.util
import queue
import sys
import tkinter as tk
from pathlib import Path
from typing import List, Optional

if importlib.util.find_spec("klarna_pos") is None:
    # Not installed with pip: use the package from this checkout.
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bindings" / "python"))

from klarna_pos import (  # noqa: E402
    Client,
    Conflict,
    KlarnaError,
    QrFormat,
    Status,
    customer_text,
    display_text,
    render_qr,
)

EXIT_COMPLETED = 0
EXIT_LIBRARY_ERROR = 1
EXIT_NOT_PAID = 2
EXIT_USAGE = 64

USAGE = "usage: tk_till.py ORDER.json [--language TAG] [--timeout-ms N] [--close-when-done]"


def emit(key: str, value: Optional[str]) -> None:
    print("{}={}".format(key, value or ""), flush=True)


class Till:
    """The window of one payment."""

    def __init__(self, root: tk.Tk, session, language: Optional[str], close_when_done: bool):
        self.root = root
        self.session = session
        self.language = language
        self.close_when_done = close_when_done
        self.statuses: "queue.Queue[Status]" = queue.Queue()
        self.exit_code = EXIT_LIBRARY_ERROR
        self.qr_image: Optional[tk.PhotoImage] = None

        root.title("Klarna payment")
        self.qr = tk.Label(root)
        self.qr.pack(padx=12, pady=12)
        self.cashier = tk.Label(root, font=("TkDefaultFont", 14, "bold"), width=24, wraplength=320)
        self.cashier.pack(padx=12)
        self.customer = tk.Label(root, width=34, wraplength=360)
        self.customer.pack(padx=12, pady=6)
        self.cancel_button = tk.Button(root, text="Cancel", command=self.cancel)
        self.cancel_button.pack(pady=12)

    def start(self, timeout_ms: int) -> None:
        # The listener runs on the library's thread: it only queues the status.
        self.session.watch(self.statuses.put)
        self.root.after(timeout_ms, self.cancel)
        self.root.after(20, self.drain)

    def drain(self) -> None:
        """On Tk's thread: show every status the listener queued."""
        while True:
            try:
                status = self.statuses.get_nowait()
            except queue.Empty:
                break
            if self.show(status):
                return
        self.root.after(20, self.drain)

    def show(self, status: Status) -> bool:
        """Shows a status; True once it is final."""
        if status == Status.CREATED:
            return False  # local, nothing to show yet
        if self.qr_image is None and self.session.qr_url:
            link = self.session.payment_link or self.session.qr_url
            emit("qr_url", self.session.qr_url)
            png = render_qr(link, QrFormat.PNG)
            self.qr_image = tk.PhotoImage(data=base64.b64encode(png).decode("ascii"))
            self.qr.configure(image=self.qr_image)
        cashier = display_text(status, self.language)
        customer = customer_text(status, self.language)
        emit("status", status.name)
        emit("display", cashier)
        emit("customer", customer)
        self.cashier.configure(text=cashier)
        self.customer.configure(text=customer)
        if not status.is_terminal:
            return False
        self.cancel_button.configure(state=tk.DISABLED)
        if status == Status.COMPLETED:
            emit("order_id", self.session.order_id)
            self.exit_code = EXIT_COMPLETED
        else:
            if status == Status.FAILED:
                # The id lets Klarna's support find the payment.
                self.customer.configure(text="{} ({})".format(customer, self.session.id))
            self.exit_code = EXIT_NOT_PAID
        if self.close_when_done:
            self.root.after(1000, self.root.destroy)
        return True

    def cancel(self) -> None:
        """The Cancel button, or the till's deadline. The final status (CANCELED, or COMPLETED
        when the customer was quicker) reaches the window through the listener."""
        if self.session.status.is_terminal:
            return
        try:
            self.session.cancel()
        except Conflict:
            pass  # completed first: the listener reports it
        except KlarnaError as e:
            emit("error", "{} {}".format(e.name, e.message))


def parse(argv: List[str]):
    order_path, language, timeout_ms, close_when_done = None, None, 120_000, False
    args = iter(argv)
    for arg in args:
        if arg == "--language":
            language = next(args, None)
            if language is None:
                raise ValueError("--language needs a tag")
        elif arg == "--timeout-ms":
            timeout_ms = int(next(args, "x"))
        elif arg == "--close-when-done":
            close_when_done = True
        elif arg.startswith("-") or order_path is not None:
            raise ValueError(arg)
        else:
            order_path = arg
    if order_path is None or timeout_ms <= 0:
        raise ValueError("ORDER.json")
    return order_path, language, timeout_ms, close_when_done


def main(argv: List[str]) -> int:
    try:
        order_path, language, timeout_ms, close_when_done = parse(argv)
        order = Path(order_path).read_text("utf-8")
    except (ValueError, OSError):
        print(USAGE, file=sys.stderr)
        return EXIT_USAGE
    try:
        client = Client.from_env()
        session = client.create_session(order)
    except KlarnaError as e:
        emit("error", "{} {}".format(e.name, e.message))
        return EXIT_LIBRARY_ERROR
    emit("session_id", session.id)
    with client, session:
        root = tk.Tk()
        till = Till(root, session, language, close_when_done)
        till.start(timeout_ms)
        root.mainloop()
        # Closing the session (end of `with`) ends the watch before the interpreter exits.
        return till.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
