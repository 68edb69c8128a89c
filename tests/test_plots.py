"""The charts' readability choices, read back from the matplotlib figures (unet.plots)."""
import pytest
from matplotlib.colors import to_rgba

from unet import plots


@pytest.fixture
def drawn(monkeypatch):
    """The figures the plot functions make, instead of their PNGs."""
    figures = []
    monkeypatch.setattr(plots, "_save", lambda figure, path: figures.append(figure))
    return figures


def _log_rows(epochs):
    return [dict(epoch=e, loss=0.2 / e, val_psnr=24 + e, val_affine_psnr=27 + e, degraded_psnr=21.3,
                 val_ssim=0.6 + e / 100, degraded_ssim=0.37) for e in range(1, epochs + 1)]


@pytest.mark.parametrize("epochs", [1, 7])
def test_curves_have_whole_epoch_ticks_and_one_style_per_series(drawn, epochs):
    plots.plot_curves(_log_rows(epochs), "unused.png")
    loss_ax, psnr_ax, ssim_ax = drawn[0].axes
    drawn[0].canvas.draw()
    for ax in (loss_ax, psnr_ax, ssim_ax):
        ticks = [tick for tick in ax.get_xticks() if ax.get_xlim()[0] <= tick <= ax.get_xlim()[1]]
        assert ticks and all(float(tick).is_integer() for tick in ticks), ticks
    styles = [{line.get_label(): (to_rgba(line.get_color()), line.get_linestyle()) for line in ax.lines}
              for ax in (psnr_ax, ssim_ax)]
    assert styles[0]["degraded input"] == styles[1]["degraded input"]
    assert styles[0]["restored"] == styles[1]["restored"]
    assert styles[0]["restored, affine fit"] not in (styles[1]["restored"], styles[1]["degraded input"])


@pytest.mark.parametrize("metric, labels", [("psnr", ["31.6", "28.0", "22.7", "20.0"]),
                                            ("ssim", ["0.930", "0.800", "0.412", "0.350"])])
def test_bar_labels_share_one_precision(drawn, metric, labels):
    restored = {"plain": {metric: 31.58 if metric == "psnr" else 0.93}, "tiles": {metric: 28.0 if metric == "psnr" else 0.8}}
    degraded = {"plain": 22.71 if metric == "psnr" else 0.412, "tiles": 20.0 if metric == "psnr" else 0.35}
    plots.plot_category_bars(restored, "unused.png", metric, compare={"degraded input": degraded})
    assert [text.get_text() for text in drawn[0].axes[0].texts] == labels
