"""PDF checks without a PDF library: the document is a whole PDF with the Japanese font
embedded, and its text (pdftotext when installed; otherwise the content streams' glyphs read
back through the fonts' ToUnicode maps, which is enough for WeasyPrint's output)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import zlib
from pathlib import Path

# A stream's data may itself end in a carriage return (compressed bytes are any bytes), so the
# end-of-line before `endstream` is not cut from it here: the decompressor stops at the end of
# its own data and leaves what follows (a stray CR) unused.
_STREAM = re.compile(rb"stream\r?\n(.*?)\nendstream", re.S)


def _streams(data: bytes) -> list[bytes]:
    out = []
    for m in _STREAM.finditer(data):
        try:
            out.append(zlib.decompressobj().decompress(m.group(1)))
        except zlib.error:
            out.append(m.group(1))
    return out


def _cmap(streams: list[bytes]) -> dict[int, str]:
    table: dict[int, str] = {}
    for s in streams:
        if b"beginbfchar" not in s and b"beginbfrange" not in s:
            continue
        for block in re.findall(rb"beginbfchar(.*?)endbfchar", s, re.S):
            for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                table[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be", "replace")
        for block in re.findall(rb"beginbfrange(.*?)endbfrange", s, re.S):
            for lo, hi, dst in re.findall(
                rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block
            ):
                base = int(dst, 16)
                for i, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                    table[code] = chr(base + i)
    return table


def _text(streams: list[bytes]) -> str:
    table = _cmap(streams)
    chunks = []
    for s in streams:
        if b"TJ" not in s and b"Tj" not in s:
            continue
        for arr in re.findall(rb"\[(.*?)\]\s*TJ|<([0-9A-Fa-f]+)>\s*Tj", s, re.S):
            body = arr[0] or b"<" + arr[1] + b">"
            for hexstr in re.findall(rb"<([0-9A-Fa-f]+)>", body):
                h = hexstr.decode()
                chunks.append(
                    "".join(table.get(int(h[i : i + 4], 16), "") for i in range(0, len(h), 4))
                )
            chunks.append("\n")
    return "".join(chunks)


def check_pdf(data: bytes) -> str:
    """Assert it is a whole PDF with Noto CJK embedded; return its text."""
    assert data.startswith(b"%PDF-"), data[:20]
    assert data.rstrip().endswith(b"%%EOF")
    streams = _streams(data)
    assert any(b"CJK" in s for s in [data, *streams]), "the Japanese font is not embedded"
    exe = shutil.which("pdftotext")
    if exe is not None:
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "doc.pdf"
            path.write_bytes(data)
            out = subprocess.run(
                [exe, "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
            )
        return out.stdout.decode()
    return _text(streams)
