"""Hostile documents, written byte by byte (tiny files that would cost a reader minutes or
gigabytes without its limits)."""

from __future__ import annotations

_FONT = b"<< /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >>"


def pdf(content: bytes, *, width: float = 595, height: float = 842, pages: int = 1) -> bytes:
    """A PDF of ``pages`` pages of ``width`` × ``height`` pt, each drawing ``content``."""
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
    ]
    for i in range(pages):
        box = f"/MediaBox [0 0 {width} {height}] /Contents {4 + 2 * i} 0 R /Resources ".encode()
        objects.append(b"<< /Type /Page /Parent 2 0 R " + box + _FONT + b" >>")
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    return out + f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()


def ruled_grid(lines: int, step: float = 3.5) -> bytes:
    """A page content: some text and a grid of ``lines`` × ``lines`` rulings ``step`` pt apart."""
    ops = [b"BT /F1 8 Tf 5 5 Td (text) Tj ET", b"0.1 w"]
    end = 10 + (lines - 1) * step
    for i in range(lines):
        at = 10 + i * step
        ops += [b"10 %.2f m %.2f %.2f l S" % (at, end, at), b"%.2f 10 m %.2f %.2f l S" % (at, at, end)]
    return b"\n".join(ops)


TEXT = b"BT /F1 8 Tf 25 25 Td (text) Tj ET"
