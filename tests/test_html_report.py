"""`tpulint report`: the self-contained HTML page, checked as text and rendered in headless Chromium."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from pathlib import Path

import pytest
from conftest import FIXTURES
from typer.testing import CliRunner

from tpulint.analyze import analyze_path
from tpulint.cli import app
from tpulint.context import Target
from tpulint.html_report import COLORS, layout, op_edges, render_html

runner = CliRunner()
MID = FIXTURES / "unsupported_mid.tflite"
GOOD = FIXTURES / "int8_cnn.tflite"
BRANCHY = FIXTURES / "split_concat.tflite"


def page_for(path: Path) -> str:
    return render_html(analyze_path(path, Target()), op_edges(path), tool_version="test")


# ------------------------------------------------------------------------------------------ the page as text


def test_page_has_every_op_coloured_and_the_cut() -> None:
    html = page_for(MID)
    nodes = re.findall(r'<g class="op-node (tpu|cpu)[^"]*" id="node-(\d+)"', html)
    assert [p for p, _ in nodes] == ["tpu", "cpu", "cpu", "cpu"]
    assert len(re.findall(r'<tr class="op-row', html)) == 4
    assert html.count('class="cut-edge"') == 1  # conv (TPU) -> LEAKY_RELU (CPU)
    assert 'class="op-node cpu first-cpu"' in html
    assert "TPU101" in html and "fix:" in html and "Operation not supported" in html
    assert 'data-op-count="4"' in html


def test_page_is_self_contained() -> None:
    html = page_for(MID)
    assert "<link" not in html and "@import" not in html and "url(http" not in html
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html)
    # the only URL is the SVG namespace, which is an identifier, not a request
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) <= {"http://www.w3.org/2000/svg"}
    assert "default-src 'none'" in html  # and the page forbids requests outright


def test_fully_mapped_model_has_no_cut_and_names_are_escaped(tmp_path: Path) -> None:
    html = page_for(GOOD)
    assert 'class="cut-edge"' not in html and "op-node cpu" not in html
    m = analyze_path(MID, Target())
    m.ops[0].name = "<script>alert(1)</script>"
    assert "<script>alert(1)" not in render_html(m, op_edges(MID))


def test_layout_layers_follow_dependencies() -> None:
    m = analyze_path(BRANCHY, Target())
    edges = op_edges(BRANCHY)
    pos = layout([o for o in m.ops if o.subgraph == 0], edges)
    for i, preds in edges.items():
        for p in preds:
            assert pos[p][1] < pos[i][1], (p, i)  # producers are drawn above their consumers
    assert len(set(pos.values())) == len(pos)  # no two boxes in the same place


def test_report_command(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    r = runner.invoke(app, ["report", str(MID), "-o", str(out)])
    assert r.exit_code == 0 and r.stdout == ""
    assert "wrote" in r.stderr and out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    r = runner.invoke(app, ["report", str(tmp_path / "missing.tflite"), "-o", str(out)])
    assert r.exit_code == 2 and "no such file" in r.stderr
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"\0" * 32)
    r = runner.invoke(app, ["report", str(bad), "-o", str(tmp_path / "bad.html")])
    assert r.exit_code == 2 and (tmp_path / "bad.html").is_file()


# ------------------------------------------------------------------------------------------ headless Chromium


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        exe = shutil.which(name)
        if exe:
            return exe
    pytest.skip("headless Chromium is not installed (Debian: apt-get install -y chromium; .ci/run does this as root)")


def _chrome(exe: str, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp / 'chrome-profile'}",
        "--window-size=1200,900",
    ]
    return subprocess.run([exe, *flags, *args], capture_output=True, text=True, timeout=180, check=False)


def decode_png(data: bytes) -> tuple[int, int, int, bytes]:
    """(width, height, channels, raw pixels) of an 8-bit RGB/RGBA, non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    width = height = channels = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and ctype in (2, 6) and interlace == 0, (depth, ctype, interlace)
            channels = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    out = bytearray()
    prev = bytearray(stride)
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        if ftype == 1:
            for i in range(channels, stride):
                line[i] = (line[i] + line[i - channels]) & 0xFF
        elif ftype == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev, strict=True))
        elif ftype == 3:
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ftype == 4:
            for i in range(stride):
                a = line[i - channels] if i >= channels else 0
                b = prev[i]
                c = prev[i - channels] if i >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        out += line
        prev = line
    return width, height, channels, bytes(out)


def _hex(c: str) -> tuple[int, int, int]:
    return int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16)


def test_headless_chromium_renders_the_graph(tmp_path: Path) -> None:
    exe = _chromium()
    page = tmp_path / "report.html"
    r = runner.invoke(app, ["report", str(MID), "-o", str(page)])
    assert r.exit_code == 0

    dom = _chrome(exe, tmp_path, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    # the page's script ran and counted what the browser actually built
    assert 'data-rendered-ops="4"' in dom.stdout and 'data-rendered-rows="4"' in dom.stdout
    assert len(re.findall(r'class="op-node ', dom.stdout)) == 4

    shot = tmp_path / "shot.png"
    res = _chrome(exe, tmp_path, f"--screenshot={shot}", page.as_uri())
    assert res.returncode == 0 and shot.is_file(), res.stderr[-2000:]
    w, h, ch, px = decode_png(shot.read_bytes())
    assert (w, h) == (1200, 900)
    sample = Counter(px[i : i + 3] for i in range(0, len(px), ch * 7))  # every 7th pixel is plenty
    assert len(sample) > 50, f"screenshot looks blank ({len(sample)} colours)"

    def area(rgb: tuple[int, int, int]) -> int:
        return sum(n for c, n in sample.items() if all(abs(c[k] - rgb[k]) <= 3 for k in range(3)))

    # One green and three red 210x46 boxes (a legend swatch alone is ~30 sampled pixels).
    tpu, cpu = area(_hex(COLORS["tpu"][0])), area(_hex(COLORS["cpu"][0]))
    assert tpu > 400, f"no Edge TPU (green) op box in the screenshot ({tpu} sampled pixels)"
    assert cpu > 3 * 400, f"fewer than three CPU (red) op boxes in the screenshot ({cpu} sampled pixels)"
