"""The HTML report as a browser draws it: headless Chromium (the distribution's package) loads
report.html, runs pytest-html's own script, and a probe script reads what a person would see
(computed styles, visible text, order of blocks). Skipped when no Chromium is installed, unless
$HARNESS_REQUIRE_BROWSER is set (CI sets it once it installed one): then its absence fails.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import make_submission

from harness.grade import grade
from harness.options import Options, TrainOptions
from harness.report import files

pytestmark = pytest.mark.slow

BROWSERS = ("chromium", "chromium-headless-shell", "chromium-browser", "google-chrome", "headless_shell")


def browser() -> str | None:
    """A Chromium binary: $HARNESS_BROWSER, else the first of BROWSERS on PATH."""
    given = os.environ.get("HARNESS_BROWSER")
    if given:
        return given
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


@pytest.fixture(scope="session")
def chromium() -> str:
    found = browser()
    if found is None:
        if os.environ.get("HARNESS_REQUIRE_BROWSER"):
            pytest.fail("$HARNESS_REQUIRE_BROWSER is set but no Chromium was found (set $HARNESS_BROWSER)")
        pytest.skip(
            "no Chromium installed (apt-get install chromium-headless-shell, or set $HARNESS_BROWSER)"
        )
    return found


# Runs in the page after pytest-html's script has drawn the table; writes what it saw as JSON.
PROBE = """
<script>
window.addEventListener('load', () => setTimeout(() => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).slice(0, 3).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const contrast = (el) => {
    const a = lum(rgb(getComputedStyle(el).color)), b = lum([255, 255, 255]);
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  };
  const visible = (el) => !!el && getComputedStyle(el).display !== 'none' && el.getClientRects().length > 0;
  document.querySelectorAll('.collapsible .col-result.collapsed').forEach((td) => td.click());  // open every row
  const rows = [...document.querySelectorAll('#results-table tbody.results-table-row')].map((tb) => {
    const extra = tb.querySelector('.extras-row');
    const text = extra ? extra.innerText : '';
    return {
      id: tb.querySelector('.col-testId').innerText,
      message: tb.querySelector('.col-message').innerText,
      opened: extra ? visible(extra) : false,
      text: text,
      messageAt: text.indexOf(tb.querySelector('.col-message').innerText.trim()),
      outputAt: text.indexOf('Output of your code'),
    };
  });
  const cell = document.querySelector('table.per-class td');
  const out = {
    runCountVisible: visible(document.querySelector('.run-count')),
    tableWidth: document.querySelector('#results-table').scrollWidth,
    windowWidth: window.innerWidth,
    emptyBoxes: [...document.querySelectorAll('.logwrapper')].filter((w) => visible(w) && !w.querySelector('.log')).length,
    counts: (document.querySelector('.grade-counts') || {}).innerText || '',
    contrast: {
      summary: contrast(document.querySelector('.grade-counts')),
      cell: contrast(document.querySelector('#results-table td.col-testId')),
      body: contrast(document.body),
    },
    padding: cell ? parseFloat(getComputedStyle(cell).paddingLeft) : null,
    headings: [...document.querySelectorAll('h1,h2,h3,h4,caption')].map((h) => h.innerText.trim()),
    images: [...document.querySelectorAll('img[alt]')].filter(visible).map((i) => [i.alt, i.naturalWidth]),
    pageText: document.body.innerText,
    rows: rows,
  };
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}, 0));
</script>
"""


def seen(chromium: str, page: Path) -> dict:
    """What the browser shows of ``page`` (PROBE's JSON)."""
    probed = page.with_name("probed.html")
    probed.write_text(
        page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8"
    )
    run = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",  # CI runs as root
            "--disable-gpu",
            "--virtual-time-budget=10000",
            "--window-size=1200,900",
            "--dump-dom",
            probed.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    found = re.search(r'<pre id="probe">(.*?)</pre>', run.stdout, re.S)
    assert found, f"the probe did not run in {chromium}:\n{run.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


FLIPPED_CONV = Path(__file__).parent / "corpus" / "broken" / "conv_flipped_kernel"


@pytest.fixture(scope="session")
def pages(tmp_path_factory) -> dict[str, Path]:
    """report.html of the reference and of a failing submission (real grades, without training)."""
    root = tmp_path_factory.mktemp("browser")
    failing = make_submission(root / "flipped", {})
    for f in FLIPPED_CONV.glob("*.py"):
        shutil.copyfile(f, failing / f.name)
    (failing / "relu.py").write_text(
        "import numpy as np\n\ndef relu_forward(input):\n    print('relu called')\n"
        "    return {**{k: input[k] for k in ('height', 'width', 'channel', 'batch_size')},"
        " 'data': np.minimum(input['data'], 0)}\n\n"
        "def relu_backward(output, input, layer):\n    return output['diff'] * (input['data'] > 0)\n"
    )
    options = Options(training=TrainOptions(enabled=False))
    found = {}
    for name, path in (("reference", "reference"), ("failing", failing)):
        files.write_all(grade(path, options), root / name)
        found[name] = root / name / "report.html"
    return found


@pytest.fixture(scope="session")
def shown(chromium, pages) -> dict[str, dict]:
    """What the browser shows of each page, loaded once."""
    return {name: seen(chromium, page) for name, page in pages.items()}


@pytest.mark.parametrize("which", ["reference", "failing"])
def test_the_report_reads_well_in_a_browser(shown, which):
    shown = shown[which]
    rows = shown["rows"]
    assert len(rows) >= 30
    assert all("::" not in r["id"] and re.fullmatch(r"[a-z_]+(\.[a-z_]+)+", r["id"]) for r in rows)
    assert "No log output captured" not in shown["pageText"]
    assert not shown["runCountVisible"]  # pytest-html's "N tests took <replay time>"
    assert shown["emptyBoxes"] == 0  # no grey box where pytest-html's (emptied) log would be
    assert shown["tableWidth"] <= shown["windowWidth"]  # long messages wrap
    assert re.search(r"graded in \d+(\.\d)? s", shown["counts"])
    assert min(shown["contrast"].values()) >= 4.5, shown["contrast"]  # WCAG AA for body text
    for r in rows:
        assert r["opened"] and r["messageAt"] >= 0, r  # every row opens onto its message
        if r["outputAt"] >= 0:
            assert r["messageAt"] < r["outputAt"], r  # the message, then what the code printed


def test_a_failing_row_shows_its_explanation_and_output_in_order(shown):
    rows = {r["id"]: r for r in shown["failing"]["rows"]}
    conv = rows["forward.conv"]
    assert "flipped kernel" in conv["text"] and "worst at" in conv["text"]
    relu = rows["forward.relu"]
    assert 0 <= relu["messageAt"] < relu["outputAt"] < relu["text"].index("relu called")
