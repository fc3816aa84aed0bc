"""Loading of the klarna_pos shared library and the ctypes declaration of every C function.

Nothing else in the package touches ctypes prototypes: the rest calls ``lib.kpos_*`` with
Python values and gets Python values back.
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path
from typing import List, Optional, Union

LIBRARY_ENV = "KLARNA_POS_LIBRARY"

if sys.platform == "win32":
    _FILE_NAMES = ["klarna_pos.dll"]
elif sys.platform == "darwin":
    _FILE_NAMES = ["libklarna_pos.dylib"]
else:
    _FILE_NAMES = ["libklarna_pos.so", "libklarna_pos.so.0"]

_PACKAGE_DIR = Path(__file__).resolve().parent
# bindings/python/klarna_pos -> the repository root, for a development checkout (an installed
# package finds its own copy first).
_CHECKOUT_ROOT = _PACKAGE_DIR.parents[min(2, len(_PACKAGE_DIR.parents) - 1)]


def _candidates() -> List[Path]:
    """Where the library may be, best first."""
    found: List[Path] = []
    explicit = os.environ.get(LIBRARY_ENV)
    if explicit:
        # An explicit choice wins and is never silently replaced by another build.
        return [Path(explicit)]
    found += [_PACKAGE_DIR / name for name in _FILE_NAMES]
    target = Path(os.environ.get("CARGO_TARGET_DIR") or _CHECKOUT_ROOT / "target")
    if not target.is_absolute():
        target = _CHECKOUT_ROOT / target
    builds = [target / profile / name for profile in ("release", "debug") for name in _FILE_NAMES]
    # In a checkout, the most recently built profile is the one being worked on.
    existing = sorted((p for p in builds if p.is_file()), key=lambda p: -p.stat().st_mtime)
    return found + existing


def _load() -> ctypes.CDLL:
    tried = []
    for path in _candidates():
        tried.append(str(path))
        if path.is_file():
            return ctypes.CDLL(str(path))
    raise ImportError(
        "klarna_pos: the native library was not found (tried: {}). Install the package with "
        "pip, run `cargo build` in the repository, or set {} to the library's path.".format(
            ", ".join(tried) or "nothing", LIBRARY_ENV
        )
    )


def binding_version() -> str:
    """This package's version, ``"MAJOR.MINOR.PATCH"``: the file ``VERSION`` written next to
    the modules by the package build (from Cargo.toml), or, in a development checkout,
    Cargo.toml's ``[package] version`` itself."""
    generated = _PACKAGE_DIR / "VERSION"
    if generated.is_file():
        return generated.read_text("utf-8").strip()
    manifest = _CHECKOUT_ROOT / "Cargo.toml"
    if manifest.is_file():
        return cargo_version(manifest.read_text("utf-8"))
    raise ImportError("klarna_pos: the package's version is unknown (no VERSION file)")


def cargo_version(manifest: str) -> str:
    """The ``version`` of the ``[package]`` table of a Cargo.toml text."""
    section = ""
    for line in manifest.splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[package]" and line.startswith("version"):
            name, _, value = line.partition("=")
            if name.strip() == "version":
                return value.strip().strip('"')
    raise ImportError("klarna_pos: Cargo.toml has no [package] version")


def version_mismatch(library_number: int, binding: str) -> Optional[str]:
    """Why a library of version number ``library_number`` (``kpos_version_number()``,
    MAJOR * 10000 + MINOR * 100 + PATCH) cannot serve this package of version ``binding``;
    ``None`` when their major versions agree."""
    major = int(binding.split(".")[0])
    if library_number // 10000 == major:
        return None
    library = "{}.{}.{}".format(
        library_number // 10000, library_number // 100 % 100, library_number % 100
    )
    return (
        "klarna_pos: the native library is version {} but this package is version {}: their "
        "major versions differ, so the library's ABI is not the one this package was written "
        "for. Install matching versions.".format(library, binding)
    )


lib = _load()

_result = ctypes.c_uint32
_u32 = ctypes.c_uint32
_str = ctypes.c_char_p
_ptr = ctypes.c_void_p  # opaque handles: kpos_client *, kpos_session *

LOG_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_char_p)
# kpos_status_listener: (userdata, kpos_session *, status)
STATUS_LISTENER = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint32)


def _declare(name: str, restype: Optional[type], *argtypes: type) -> None:
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)


_declare("kpos_version", _str)
_declare("kpos_version_number", _u32)
_declare("kpos_string_free", None, ctypes.c_void_p)

_declare("kpos_client_new", _result, _str, ctypes.POINTER(_ptr))
_declare("kpos_client_free", None, _ptr)

_declare("kpos_result_name", _str, _u32)
_declare("kpos_result_text", _str, _u32)
_declare("kpos_result_action", _u32, _u32)
_declare("kpos_last_error_code", _result)
_declare("kpos_last_error_message", _str)
_declare("kpos_last_error_json", _str)
_declare("kpos_last_error_field", _str)
_declare("kpos_last_error_klarna_code", _str)
_declare("kpos_last_error_correlation_id", _str)
_declare("kpos_last_error_http_status", _u32)
_declare("kpos_last_error_retry_after_ms", _u32)
_declare("kpos_set_log_callback", _result, LOG_CALLBACK, ctypes.c_void_p, _u32)

_declare("kpos_session_create", _result, _ptr, _str, ctypes.POINTER(_ptr))
_declare("kpos_session_resume", _result, _ptr, _str, _str, ctypes.POINTER(_ptr))
_declare("kpos_session_id", _str, _ptr)
_declare("kpos_session_result_url", _str, _ptr)
_declare("kpos_session_status", _u32, _ptr)
_declare("kpos_session_poll", _result, _ptr, ctypes.POINTER(_u32))
_declare("kpos_session_wait", _result, _ptr, _u32, ctypes.POINTER(_u32))
_declare("kpos_session_qr_url", _str, _ptr)
_declare("kpos_session_payment_link", _str, _ptr)
_declare("kpos_session_order_id", _str, _ptr)
_declare("kpos_session_failure", _result, _ptr)
_declare("kpos_session_cancel", _result, _ptr)
_declare("kpos_session_free", None, _ptr)
_declare("kpos_status_name", _str, _u32)
_declare("kpos_status_is_terminal", ctypes.c_int32, _u32)
_declare("kpos_status_display_text", _str, _u32)
_declare("kpos_status_display_text_for", _str, _u32, _str)
_declare("kpos_status_customer_text_for", _str, _u32, _str)
_declare("kpos_session_watch", _result, _ptr, STATUS_LISTENER, ctypes.c_void_p)

# Strings and bytes returned through out-parameters arrive as addresses (c_void_p), copied and
# released by take_string / take_bytes.
_out_str = ctypes.POINTER(ctypes.c_void_p)
_declare("kpos_bytes_free", None, ctypes.c_void_p, ctypes.c_size_t)

_declare("kpos_order_get", _result, _ptr, _str, _out_str)
_declare("kpos_order_capture", _result, _ptr, _str, _str, _str, _out_str)
_declare("kpos_order_refund", _result, _ptr, _str, _str, _str, _out_str)
_declare("kpos_order_cancel", _result, _ptr, _str, _str)
_declare("kpos_order_release_remaining_authorization", _result, _ptr, _str, _str)
_declare("kpos_journal_pending", _result, _ptr, _out_str)
_declare("kpos_history_report", _result, _ptr, _str, _str, _out_str)
_declare("kpos_history_find", _result, _ptr, _str, _out_str)
_declare("kpos_session_receipt_text", _result, _ptr, _str, _out_str)
_declare("kpos_client_check", _result, _ptr, _out_str)
_declare("kpos_qr_render", _result, _str, _u32, _out_str, ctypes.POINTER(ctypes.c_size_t))
_bytes = ctypes.c_char_p  # const uint8_t *, passed with its length (NUL bytes included)
_declare(
    "kpos_webhook_verify",
    _result,
    _ptr,
    _bytes,
    ctypes.c_size_t,
    _bytes,
    ctypes.c_size_t,
    _out_str,
    ctypes.POINTER(_u32),
)


def to_c(text: Union[str, bytes, bytearray]) -> bytes:
    """A string argument as UTF-8 bytes; bytes pass unchanged (they must be UTF-8 already)."""
    return text.encode("utf-8") if isinstance(text, str) else bytes(text)


def from_c(raw: Optional[bytes]) -> Optional[str]:
    """A library string (UTF-8, or NULL) as ``str`` or ``None``."""
    return None if raw is None else raw.decode("utf-8", errors="replace")


def take_string(raw: ctypes.c_void_p) -> Optional[str]:
    """A string the library returned through a ``char **`` out-parameter, as ``str``; the
    library's copy is released with ``kpos_string_free``."""
    if not raw.value:
        return None
    try:
        return from_c(ctypes.string_at(raw.value))
    finally:
        lib.kpos_string_free(raw.value)


def take_bytes(raw: ctypes.c_void_p, length: int) -> bytes:
    """Bytes the library returned through a ``uint8_t **`` / ``size_t *`` pair, copied; the
    library's buffer is released with ``kpos_bytes_free``."""
    if not raw.value:
        return b""
    try:
        return ctypes.string_at(raw.value, length)
    finally:
        lib.kpos_bytes_free(raw.value, length)


# Refused at load: a library whose major version differs from this package's.
_mismatch = version_mismatch(lib.kpos_version_number(), binding_version())
if _mismatch is not None:
    raise ImportError(_mismatch)
