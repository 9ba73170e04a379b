"""Attachments and inline images: what is accepted, and how big a message may get.

Checked at the gateway, before anything is stored:

- ``content`` is standard base64 (RFC 4648, padding required, no line breaks or other
  characters); it is decoded once here and stored decoded
  (:mod:`mailpass_common.messages.attachment_store`).
- Filenames are sanitised, never refused for their characters: the last path component
  only (no ``../`` or ``C:\\``), control characters and the characters Windows forbids
  (``<>:"/\\|?*``) replaced by ``_``, leading dots and trailing dots or spaces removed,
  at most 255 characters (the extension kept), ``attachment`` when nothing is left.
- Executables are refused by default (400 ATTACHMENT_REFUSED), by any of three signs:
  the extension (``.exe``, ``.js``, ``.scr``... the list below, the one Gmail and
  Outlook block), the declared type (``application/x-msdownload``...), or the content
  itself (a PE ``MZ`` or ELF header, whatever the name says). An operator may allow them
  (``ATTACHMENTS_ALLOW_EXECUTABLES``).
- ``content_id`` makes the part inline: the HTML refers to it as ``cid:<content_id>``.
- The whole message, as it will go on the wire (every attachment base64-encoded in
  76-character lines, the bodies, the headers), is capped at ``MAX_MESSAGE_BYTES``
  (default 10 MiB): beyond it, 413 MESSAGE_TOO_LARGE with the size and the limit.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass

MAX_ATTACHMENTS = 20
MAX_FILENAME_CHARS = 255
CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")
CONTENT_ID = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.@-]{1,128}$")
_UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f<>:"/\\|?*\u2028\u2029]')

# The extensions Gmail blocks and Outlook's Level 1 list (programs, scripts, installers,
# shortcuts, disk images, code Windows runs on a double click), and shell scripts. The
# README states the whole list; tests/contract/test_executable_list.py checks the two agree.
_BLOCKED_EXTENSIONS = """
    ade adp apk app application appref-ms appx appxbundle asp aspx asx bas bat bgi cab cer
    chm cmd cnt com cpl crt csh der diagcab diagcfg diagpkg dll dmg ex ex_ exe fxp gadget
    grp hlp hpj hta htc img inf ins iso isp its jar jnlp js jse ksh lib lnk mad maf mag mam
    maq mar mas mat mau mav maw mcf mda mdb mde mdt mdw mdz mjs msc msh msh1 msh1xml msh2
    msh2xml mshxml msi msix msixbundle msp mst msu nsh ops osd pcd pif pl plg prf prg
    printerexport ps1 ps1xml ps2 ps2xml psc1 psc2 psd1 psdm1 pst py pyc pyo pyw pyz pyzw reg
    scf scr sct settingcontent-ms sh shb shs sys theme tmp udl url vb vbe vbp vbs vhd vhdx
    vsmacros vsw vxd webpnp website ws wsb wsc wsf wsh xbap xll xnk
"""
EXECUTABLE_EXTENSIONS = frozenset(_BLOCKED_EXTENSIONS.split())
EXECUTABLE_TYPES = frozenset(
    {
        "application/x-msdownload",
        "application/x-msdos-program",
        "application/x-ms-installer",
        "application/x-msi",
        "application/x-dosexec",
        "application/x-executable",
        "application/x-elf",
        "application/x-sh",
        "application/x-bat",
        "application/vnd.microsoft.portable-executable",
        "application/java-archive",
        "application/x-java-archive",
        "application/hta",
        "application/javascript",
        "text/javascript",
        "application/x-javascript",
        "application/vbscript",
        "text/vbscript",
        "application/x-ms-application",
        "application/x-ms-xbap",
        "application/x-ms-shortcut",
        "application/x-mswinurl",
        "application/x-python-code",
        "application/x-powershell",
    }
)
_MAGIC = ((b"MZ", "a Windows program"), (b"\x7fELF", "a Linux program"))


def sanitized_filename(raw: str) -> str:
    name = re.split(r"[/\\]", raw)[-1]
    name = _UNSAFE.sub("_", name).strip().lstrip(".").rstrip(". ")
    if len(name) > MAX_FILENAME_CHARS:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 16:
            name = stem[: MAX_FILENAME_CHARS - len(extension) - 1] + "." + extension
        else:
            name = name[:MAX_FILENAME_CHARS]
    return name or "attachment"


def decoded(content: str) -> bytes:
    """The bytes of standard base64; ``ValueError`` saying why it is not."""
    try:
        return binascii.a2b_base64(content, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not valid base64 (RFC 4648, no line breaks): {exc}") from exc


def executable_sign(filename: str, content_type: str, data: bytes) -> str | None:
    """Why this looks like a program, or None."""
    extension = filename.rpartition(".")[2].lower() if "." in filename else ""
    if extension in EXECUTABLE_EXTENSIONS:
        return f"the .{extension} extension is an executable type"
    if content_type in EXECUTABLE_TYPES:
        return f"the type {content_type} is executable"
    for magic, what in _MAGIC:
        if data.startswith(magic):
            return f"its content is {what}"
    return None


def encoded_size(raw_bytes: int) -> int:
    """Bytes of base64 in 76-character lines with CRLF, as the MIME carries it."""
    chars = 4 * ((raw_bytes + 2) // 3)
    return chars + 2 * ((chars + 75) // 76)


PART_OVERHEAD = 400  # a part's boundary and headers, generously


def message_size(bodies: list[str], attachment_sizes: list[int]) -> int:
    """An upper estimate of the message on the wire: headers, bodies (quoted-printable may
    triple a non-ASCII text), every attachment encoded."""
    text = sum(len(b) if b.isascii() else 3 * len(b.encode()) for b in bodies)
    return 4096 + text + sum(encoded_size(s) + PART_OVERHEAD for s in attachment_sizes)


@dataclass(frozen=True)
class Attachment:
    """A file of the message: inline (an image the HTML shows by ``cid:``) when it has a
    ``content_id``, else attached. ``data`` may be a view into the message's stored bytes."""

    filename: str
    content_type: str
    data: bytes | memoryview
    content_id: str | None = None
