"""The dashboard's SVG charts: well-formed, accessible, drawn to scale, and escaped."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from services.review import charts

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # raises on anything that is not well-formed XML


def _shapes(root: ET.Element, tag: str, css: str) -> list[ET.Element]:
    return [e for e in root.iter(SVG + tag) if e.get("class") == css]


def _is_accessible(root: ET.Element, title: str) -> None:
    assert root.tag == SVG + "svg"
    assert root.get("role") == "img" and root.get("aria-label") == title
    assert root.find(SVG + "title").text == title
    assert root.find(SVG + "desc").text  # the numbers, read out


def test_funnel_bars_are_proportional_to_the_counts():
    steps = [("Submitted", 240), ("Eligible", 209), ("Finalist", 42), ("Winner", 6)]
    root = _parse(charts.funnel(steps, title="Applications by stage"))
    _is_accessible(root, "Applications by stage")
    bars = _shapes(root, "rect", "bar")
    assert [(b.get("data-label"), int(b.get("data-value"))) for b in bars] == steps
    widths = [float(b.get("width")) for b in bars]
    for (_, count), width in zip(steps, widths):
        assert width / widths[0] == pytest.approx(count / 240, abs=0.005)
    # centred: every bar has the same middle
    middles = {round(float(b.get("x")) + float(b.get("width")) / 2, 2) for b in bars}
    assert len(middles) == 1
    assert "Submitted: 240; Eligible: 209; Finalist: 42; Winner: 6." == root.find(SVG + "desc").text


def test_funnel_of_nothing_is_still_a_valid_image():
    root = _parse(charts.funnel([("Submitted", 0), ("Eligible", 0)]))
    assert [float(b.get("width")) for b in _shapes(root, "rect", "bar")] == [0.0, 0.0]
    _is_accessible(_parse(charts.funnel([], title="Empty")), "Empty")


def test_progress_bars_fill_in_proportion_on_one_scale():
    rows = [("Ana Souza", 3, 8), ("Ben Wu", 8, 8), ("Cho Min-ji", 0, 4)]
    root = _parse(charts.progress(rows, title="Juror progress"))
    _is_accessible(root, "Juror progress")
    totals = [float(r.get("width")) for r in _shapes(root, "rect", "total")]
    done = [float(r.get("width")) for r in _shapes(root, "rect", "done")]
    assert totals[2] / totals[0] == pytest.approx(4 / 8)
    assert done[0] / totals[0] == pytest.approx(3 / 8) and done[1] == pytest.approx(totals[1]) and done[2] == 0
    texts = [t.text for t in root.iter(SVG + "text") if t.get("class") == "value"]
    assert texts == ["3 of 8", "8 of 8", "0 of 4"]


def test_strip_plot_puts_each_value_on_the_scale():
    groups = {"Tech-InnovaCity": [2.0, 5.0, 10.0], "Human-CentriCity": [0.0, 7.5]}
    root = _parse(charts.strip_plot(groups, scale=(0, 10), title="Weighted totals"))
    _is_accessible(root, "Weighted totals")
    dots = _shapes(root, "circle", "dot")
    assert sorted((d.get("data-label"), float(d.get("data-value"))) for d in dots) == sorted(
        (name, v) for name, values in groups.items() for v in values)
    x = {(d.get("data-label"), float(d.get("data-value"))): float(d.get("cx")) for d in dots}
    left, right = x[("Human-CentriCity", 0.0)], x[("Tech-InnovaCity", 10.0)]
    assert x[("Tech-InnovaCity", 5.0)] == pytest.approx((left + right) / 2)
    assert x[("Human-CentriCity", 7.5)] == pytest.approx(left + 0.75 * (right - left))
    means = [float(m.get("data-value")) for m in root.iter(SVG + "line") if m.get("class") == "mean"]
    assert means == pytest.approx([17 / 3, 3.75], abs=0.001)  # printed to 3 decimals


def test_strip_plot_separates_equal_values_so_each_dot_shows():
    root = _parse(charts.strip_plot({"Leadership": [6, 6, 6]}, scale=(0, 10)))
    dots = _shapes(root, "circle", "dot")
    assert len({d.get("cy") for d in dots}) == 3 and len({d.get("cx") for d in dots}) == 1


def test_strip_plot_refuses_an_empty_scale():
    with pytest.raises(ValueError):
        charts.strip_plot({"a": [1]}, scale=(5, 5))


@pytest.mark.parametrize("draw", [
    lambda label: charts.funnel([(label, 3)], title=label),
    lambda label: charts.progress([(label, 1, 2)], title=label),
    lambda label: charts.strip_plot({label: [4.0]}, scale=(0, 10), title=label),
])
def test_chart_labels_are_escaped(draw):
    label = '<script>alert("x")</script> & Beyoğlu'
    svg = draw(label)
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    root = _parse(svg)
    assert root.find(SVG + "title").text == label  # escaped in the markup, intact as text
    assert not list(root.iter("script")) and not list(root.iter(SVG + "script"))
