"""harness.training.figures: valid PNGs from the Agg canvas, digits and conv maps shown upright."""

import base64
import struct

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from harness.cases import reference
from harness.training import figures, metrics

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(fig: dict) -> tuple[int, int]:
    """Check the PNG signature and the IHDR chunk; return (width, height)."""
    assert set(fig) == {"title", "png_base64"} and fig["title"]
    data = base64.b64decode(fig["png_base64"], validate=True)
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width > 50 and height > 50
    return width, height


@pytest.fixture(scope="module")
def digits():
    """20 synthetic 'digits' (784, 20) in [0, 1], labels, and scores with a few mistakes."""
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (784, 20))
    y = np.arange(20) % 10
    scores = rng.normal(0, 1, (10, 20))
    scores[y, np.arange(20)] += 5
    scores[3, [0, 10]] += 12  # two 0s read as 3
    scores[7, 1] += 12  # a 1 read as 7
    return images, y, scores


def test_figures_render_on_the_agg_canvas():
    fig = figures.new_figure(2, 2)
    assert isinstance(fig.canvas, FigureCanvasAgg)


def test_all_figures_are_valid_pngs(digits):
    images, y, scores = digits
    s = metrics.summary(y, scores)
    assert s["confused_pairs"][0]["true"] == 0 and s["confused_pairs"][0]["predicted"] == 3
    rng = np.random.default_rng(1)
    loss = np.linspace(2.3, 0.3, 50) + rng.normal(0, 0.05, 50)
    acc = np.linspace(0.1, 0.95, 50)
    rendered = [
        figures.confusion_matrix_figure(s["confusion"]),
        figures.curves_figure(loss, acc, [[25, 0.8], [50, 0.93]]),
        figures.curves_figure(loss[:3], acc[:3]),  # too short for the moving mean, no eval points
        figures.misclassified_figure(images, s["misclassified"]),
        figures.misclassified_figure(images, []),
        figures.confused_pairs_figure(images, s["confused_pairs"]),
        figures.confused_pairs_figure(images, []),
        figures.conv_filters_figure(rng.normal(0, 1, (25, 20)), rng.normal(0, 1, 24 * 24 * 20), images[:, 0]),
        figures.conv_filters_figure(rng.normal(0, 1, (25, 20))),
    ]
    for fig in rendered:
        png_size(fig)


def test_digit_image_is_upright():
    upright = np.zeros((28, 28))
    upright[2, 5] = 1  # row 2 (near the top), column 5
    column = upright.reshape(784)  # MNIST's row-major pixels: the canonical column
    np.testing.assert_array_equal(figures.digit_image(column), upright)


def test_conv_filters_and_maps_are_shown_upright():
    """A filter that picks the top-left pixel of its window maps a digit onto its own crop."""
    digit = np.random.default_rng(2).uniform(0, 1, (28, 28))
    w = np.zeros((25, 2))
    w[0, 0] = 1  # dh = 0, dw = 0: the window's first pixel
    w[0 + 5 * 3, 1] = 1  # dh = 0, dw = 3
    params = {"h": 28, "w": 28, "c": 1, "k": 5, "stride": 1, "pad": 0, "num": 2}
    y = reference.run("conv.forward", params, {"x": digit.reshape(784, 1), "w": w, "b": np.zeros((1, 2))})[
        "y"
    ]
    maps = figures.feature_map_images(y[:, 0], 24, 24)
    np.testing.assert_array_equal(maps[0], digit[:24, :24])
    # The network's w axis runs down the digit's rows: dw = 3 shifts the crop down by 3.
    np.testing.assert_array_equal(maps[1], digit[3:27, :24])
    kernels = figures.filter_images(w)
    assert kernels.shape == (2, 5, 5)
    assert kernels[1][3, 0] == 1 and kernels[1].sum() == 1  # shown at row 3, column 0


def test_per_class_table():
    stats = metrics.per_class(np.array([[3, 1], [0, 2]]))
    table = figures.per_class_table(stats)
    assert set(table) == {"title", "html"}
    html = table["html"]
    assert html.startswith("<table") and html.endswith("</table>")
    assert html.count("<tr>") == 1 + 2 + 1  # header, two classes, total
    assert "<td>0.750</td>" in html  # recall of class 0
    assert "<td>6</td>" in html  # total support


def test_training_figures_of_a_short_run():
    from harness.child import training
    from harness.training import verdict as training_verdict

    x_train, y_train, x_eval, y_eval = training.dataset(training.TrainConfig(n_train=200, n_test=40))
    cfg = training.TrainConfig(iterations=figures.MIN_ITERATIONS, batch_size=16, eval_every=5, eval_subset=20)
    outcome = training.train(lambda op, p, a: reference.run(op, p, a), x_train, y_train, x_eval, cfg)
    verdict = training_verdict.evaluate(outcome, y_eval)
    shown = figures.training_figures(outcome, verdict, x_eval, y_eval)
    assert len(shown) == 6
    for item in shown:
        if "html" in item:
            assert item["html"].startswith("<table")
        else:
            png_size(item)
    outcome.scores, outcome.feature_maps = None, None  # a run that stopped early: curves and filters
    assert [f["title"] for f in figures.training_figures(outcome, verdict, x_eval, y_eval)] == [
        "Training curves",
        "First conv layer: filters and feature maps",
    ]
    # After 3 iterations a curve is 3 points and the filters are their random start: neither is drawn.
    outcome.loss, outcome.batch_accuracy = outcome.loss[:3], outcome.batch_accuracy[:3]
    assert figures.training_figures(outcome, verdict, x_eval, y_eval) == []
    assert "(first 10 iterations)" not in training_verdict._first_last(outcome.loss)
    assert "(iterations 1-3)" in training_verdict._first_last(outcome.loss)
