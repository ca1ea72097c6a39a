"""Figures of the training check, as base64 PNGs for the reports.

Each function returns ``{"title": ..., "png_base64": ...}`` (the table helper
``{"title": ..., "html": ...}``). Rendering uses the Agg backend through matplotlib's
object-oriented API (``Figure`` + ``FigureCanvasAgg``): no display is needed, pyplot's
global figure list is never touched, so nothing is left open after rendering.

Digits arrive as canonical columns ``(784, m)``: each column holds a digit's 28x28 pixels
row-major, so ``col.reshape(28, 28)`` shows it upright (the network reads the same column
in Fortran order, i.e. transposed). Conv weights and feature maps are in the network's
``(h, w)`` coordinates and are transposed for display for the same reason.
"""

from __future__ import annotations

import base64
import html
import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from harness.training import metrics

DPI = 100
MIN_ITERATIONS = 10
"""Training curves and learned filters are drawn from this many iterations on: before that a
curve is a few points and the filters are still their random initialisation."""


def new_figure(width: float, height: float) -> Figure:
    """A figure drawn by the Agg canvas (no GUI backend involved)."""
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def render(fig: Figure, title: str) -> dict:
    """PNG bytes of ``fig`` in base64, and the title; the figure is cleared afterwards."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    fig.clear()
    return {"title": title, "png_base64": base64.b64encode(buf.getvalue()).decode("ascii")}


def digit_image(column) -> np.ndarray:
    """A canonical 784-pixel column as an upright 28x28 image."""
    return np.asarray(column, dtype=np.float64).reshape(28, 28)


def filter_images(w, k: int = 5) -> np.ndarray:
    """conv weights ``(k*k*c, num)`` (row ``dh + k*dw + k*k*ic``) -> ``(num, k, k)`` upright, channel 0."""
    w = np.asarray(w, dtype=np.float64)
    kernels = w.reshape(k, k, -1, w.shape[1], order="F")[:, :, 0, :]  # (dh, dw, filter)
    return kernels.transpose(2, 1, 0)  # network (h, w) = digit (column, row): transpose to stand upright


def feature_map_images(maps, h: int, w: int) -> np.ndarray:
    """A conv output column ``(h*w*num,)`` (Fortran ``(h, w, num)``) -> ``(num, w, h)`` upright maps."""
    maps = np.asarray(maps, dtype=np.float64).ravel()
    return maps.reshape(h, w, -1, order="F").transpose(2, 1, 0)


def _show_digit(ax, column, label: str) -> None:
    ax.imshow(digit_image(column), cmap="gray_r", vmin=0, vmax=1)
    ax.set_title(label, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])


def _grid(n: int, cols: int) -> tuple[int, int]:
    cols = max(1, min(cols, n))
    return -(-n // cols), cols


def confusion_matrix_figure(cm, title: str = "Confusion matrix (held-out digits)") -> dict:
    """Heatmap of row-normalised counts, each cell labelled with its count."""
    cm = np.asarray(cm)
    k = cm.shape[0]
    norm = metrics.normalize_rows(cm)
    fig = new_figure(6, 5)
    ax = fig.add_subplot()
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(im, ax=ax, label="fraction of the true class")
    for i in range(k):
        for j in range(k):
            if cm[i, j]:
                ax.text(
                    j,
                    i,
                    str(int(cm[i, j])),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if norm[i, j] > 0.5 else "black",
                )
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    return render(fig, title)


def curves_figure(loss, batch_accuracy, eval_curve=(), title: str = "Training curves") -> dict:
    """Loss (left) and accuracy (right) per iteration; held-out accuracy as points.

    ``eval_curve`` is ``[[iteration, accuracy], ...]`` (iterations done, so 1-based).
    """
    loss, acc = np.asarray(loss, dtype=np.float64), np.asarray(batch_accuracy, dtype=np.float64)
    its = np.arange(1, len(loss) + 1)
    fig = new_figure(10, 3.5)
    ax_loss, ax_acc = fig.subplots(1, 2)
    ax_loss.plot(its, loss, lw=0.8, color="tab:blue", alpha=0.5, label="batch loss")
    if len(loss) >= 10:
        ax_loss.plot(
            its[9:], np.convolve(loss, np.ones(10) / 10, mode="valid"), color="tab:blue", label="mean of 10"
        )
    ax_loss.set_xlabel("iteration")
    ax_loss.set_ylabel("loss")
    ax_loss.legend(fontsize=8)
    ax_acc.plot(its, acc, lw=0.8, color="tab:orange", alpha=0.6, label="training batch")
    if len(eval_curve):
        e = np.asarray(eval_curve, dtype=np.float64).reshape(-1, 2)
        ax_acc.plot(e[:, 0], e[:, 1], "o-", color="tab:green", label="held-out")
    ax_acc.set_ylim(0, 1.02)
    ax_acc.set_xlabel("iteration")
    ax_acc.set_ylabel("accuracy")
    ax_acc.legend(fontsize=8, loc="lower right")
    fig.suptitle(title)
    return render(fig, title)


def misclassified_figure(
    images,
    mistakes: list[dict],
    max_digits: int = 24,
    cols: int = 8,
    title: str = "Misclassified held-out digits (most confident first)",
) -> dict:
    """Gallery of mistakes (``metrics.misclassified`` entries): the digit, true, predicted, confidence."""
    images = np.asarray(images)
    shown = mistakes[:max_digits]
    rows, cols = _grid(max(len(shown), 1), cols)
    fig = new_figure(1.3 * cols, 1.5 * rows + 0.4)
    for n, m in enumerate(shown):
        ax = fig.add_subplot(rows, cols, n + 1)
        _show_digit(
            ax, images[:, m["index"]], f"true {m['true']}, pred {m['predicted']}\n{m['confidence']:.1%} sure"
        )
    if not shown:
        fig.text(0.5, 0.5, "no misclassified digits", ha="center", va="center")
    fig.suptitle(title)
    return render(fig, title)


def confused_pairs_figure(
    images, pairs: list[dict], examples: int = 6, title: str = "Most confused pairs"
) -> dict:
    """One row per pair (``metrics.confused_pairs`` entries): the count and example digits."""
    images = np.asarray(images)
    rows = max(len(pairs), 1)
    fig = new_figure(1.3 * examples + 1.5, 1.5 * rows + 0.4)
    for r, pair in enumerate(pairs):
        ax = fig.add_subplot(rows, examples + 1, r * (examples + 1) + 1)
        ax.axis("off")
        ax.text(
            0.5,
            0.5,
            f"true {pair['true']}\nread as {pair['predicted']}\n{pair['count']} times",
            ha="center",
            va="center",
            fontsize=9,
        )
        for j, idx in enumerate(pair["indices"][:examples]):
            _show_digit(
                fig.add_subplot(rows, examples + 1, r * (examples + 1) + j + 2), images[:, idx], f"#{idx}"
            )
    if not pairs:
        fig.text(0.5, 0.5, "no misclassified digits", ha="center", va="center")
    fig.suptitle(title)
    return render(fig, title)


def conv_filters_figure(
    w,
    feature_maps=None,
    digit=None,
    k: int = 5,
    map_hw: tuple = (24, 24),
    per_row: int = 10,
    title: str = "First conv layer: filters and feature maps",
) -> dict:
    """conv1's filters (w ``(k*k, num)``, row ``dh + k*dw``) and, if given, its maps for one digit.

    ``feature_maps`` is the conv1 output column ``(h*w*num,)`` (Fortran ``(h, w, num)``),
    ``digit`` the 784-pixel input column. Each map sits under its filter; all upright.
    """
    filters = filter_images(w, k)
    num = len(filters)
    maps = feature_map_images(feature_maps, *map_hw) if feature_maps is not None else None
    blocks = -(-num // per_row)
    rows_per_block = 2 if maps is not None else 1
    rows, cols = blocks * rows_per_block, per_row + 1
    fig = new_figure(1.0 * cols, 1.1 * rows + 0.5)
    lim = np.abs(filters).max() or 1.0
    mlim = (np.abs(maps).max() or 1.0) if maps is not None else 1.0
    for j in range(num):
        row = (j // per_row) * rows_per_block
        col = 1 + j % per_row
        ax = fig.add_subplot(rows, cols, row * cols + col + 1)
        ax.imshow(filters[j], cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_title(f"filter {j}", fontsize=7)
        ax.axis("off")
        if maps is not None:
            ax = fig.add_subplot(rows, cols, (row + 1) * cols + col + 1)
            ax.imshow(maps[j], cmap="RdBu_r", vmin=-mlim, vmax=mlim)
            ax.set_title(f"map {j}", fontsize=7)
            ax.axis("off")
    if digit is not None:
        _show_digit(fig.add_subplot(rows, cols, (rows_per_block - 1) * cols + 1), digit, "input")
    fig.suptitle(title)
    return render(fig, title)


def per_class_table(stats: dict, title: str = "Per-class precision, recall and F1") -> dict:
    """HTML table of ``metrics.per_class`` output (one row per class, a total row of support)."""
    head = "<tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>"
    rows = [
        f"<tr><td>{c}</td><td>{p:.3f}</td><td>{r:.3f}</td><td>{f:.3f}</td><td>{s}</td></tr>"
        for c, (p, r, f, s) in enumerate(
            zip(stats["precision"], stats["recall"], stats["f1"], stats["support"])
        )
    ]
    total = f"<tr><td>all</td><td></td><td></td><td></td><td>{sum(stats['support'])}</td></tr>"
    body = "".join([head, *rows, total])
    return {
        "title": title,
        "html": f'<table class="per-class"><caption>{html.escape(title)}</caption>{body}</table>',
    }


def training_figures(outcome, verdict: dict, x_eval, y_eval, network=None, top_pairs: int = 5) -> list[dict]:
    """Every figure and the per-class table of a training run (``training.TrainOutcome`` and
    ``training_verdict.evaluate``'s verdict); the held-out ones only when the run completed,
    curves and filters only from MIN_ITERATIONS iterations (they carry no information before)."""
    learned = len(outcome.loss) >= MIN_ITERATIONS
    shown = (
        [curves_figure(outcome.loss, outcome.batch_accuracy, verdict.get("eval_curve", ()))]
        if learned
        else []
    )
    if outcome.scores is not None:
        summary = metrics.summary(y_eval, outcome.scores, top_pairs=top_pairs)
        shown += [
            confusion_matrix_figure(summary["confusion"]),
            per_class_table(summary["per_class"]),
            misclassified_figure(x_eval, summary["misclassified"]),
            confused_pairs_figure(x_eval, summary["confused_pairs"]),
        ]
    if outcome.conv1_w is not None and learned:
        index = outcome.config.get("feature_index", 0)
        k, map_hw = 5, (24, 24)  # LeNet's conv1
        if network is not None:
            k, _kw, map_hw = network.filters_geometry()
        shown.append(
            conv_filters_figure(
                outcome.conv1_w,
                outcome.feature_maps,
                x_eval[:, index] if outcome.feature_maps is not None else None,
                k=k,
                map_hw=map_hw,
            )
        )
    return shown
