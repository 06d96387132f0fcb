"""Server-rendered SVG: report charts drawn by pygal, and the catalog's small relation graph.

pygal puts a `<script>` (its tooltip config, with the labels in it) into every SVG; the portal ships no charting
JavaScript, so every script element is removed from the tree before it is serialised. Text goes through
ElementTree, which escapes it; the result is marked safe for the templates only after that.
"""

from __future__ import annotations

import math
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field

import pygal
from markupsafe import Markup
from pygal.style import Style

SVG_NS = "http://www.w3.org/2000/svg"
ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")

# One accent and greys with AA contrast on white; bands are dashed lines in muted colours.
STYLE = Style(
    background="transparent", plot_background="transparent", foreground="#1f2328", foreground_strong="#1f2328", foreground_subtle="#59636e",
    opacity=".85", opacity_hover="1", font_family="system-ui, -apple-system, 'Segoe UI', sans-serif",
    colors=("#0b5cad", "#b35900", "#1a7f37", "#8250df", "#cf222e", "#59636e", "#9a6700"),
    guide_stroke_color="#d8dee4", guide_stroke_dasharray="1,0", major_guide_stroke_color="#d8dee4", major_guide_stroke_dasharray="1,0",
    label_font_size=12, major_label_font_size=12, legend_font_size=12, title_font_size=14, value_font_size=11, tooltip_font_size=12,
)
CHARTS = {"bar": pygal.Bar, "hbar": pygal.HorizontalBar, "line": pygal.Line, "stacked": pygal.StackedBar, "box": pygal.Box}


@dataclass
class Series:
    name: str
    values: Sequence[float | None]
    dashed: bool = False


@dataclass
class Chart:
    """What one figure draws: a chart kind, labels along x, series, and the text a screen reader hears."""

    kind: str
    labels: list[str]
    series: list[Series]
    label: str
    y_title: str = ""
    formatter: object = None
    extra: dict[str, object] = field(default_factory=dict)


def _clean(root: ET.Element) -> ET.Element:
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag in (f"{{{SVG_NS}}}script", "script"):
                parent.remove(child)
    return root


def svg(chart: Chart, width: int = 760, height: int = 320) -> Markup:
    """The chart as inline SVG markup: role="img" with its label, no script."""
    kind = CHARTS[chart.kind]
    config = {"style": STYLE, "width": width, "height": height, "js": [], "disable_xml_declaration": True, "show_legend": len(chart.series) > 1,
              "legend_at_bottom": True, "legend_at_bottom_columns": 2, "x_label_rotation": 20 if len(chart.labels) > 6 else 0,
              "print_values": False, "truncate_label": 24, "truncate_legend": 40, "y_title": chart.y_title or None,
              "no_data_text": "No data in this period", "include_x_axis": True} | chart.extra
    if chart.formatter is not None:
        config["value_formatter"] = chart.formatter
    drawing = kind(**config)
    drawing.x_labels = chart.labels
    for series in chart.series:
        options = {"stroke_style": {"width": 2, "dasharray": "6, 4"}, "show_dots": False} if series.dashed else {}
        drawing.add(series.name, list(series.values), **options)
    root = _clean(drawing.render_tree())
    root.set("role", "img")
    root.set("aria-label", chart.label)
    root.set("focusable", "false")
    return Markup(ET.tostring(root, encoding="unicode"))


# -- the relation graph ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Node:
    ref: str
    label: str
    relation: str
    url: str


def _text(parent: ET.Element, x: float, y: float, content: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, "text", {"x": f"{x:.1f}", "y": f"{y:.1f}", **attrs})
    element.text = content
    return element


def _short(text: str, limit: int = 26) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def relation_graph(center: str, nodes: list[Node], label: str) -> Markup:
    """The entity in the middle, its related entities on a circle around it, each edge labelled with its relation.
    A picture (role="img"), so nothing in it is interactive: the table beside it links each entity."""
    width, height = (720, 440) if len(nodes) <= 8 else (760, 600)
    cx, cy = width / 2, height / 2
    rx, ry = cx - 90, cy - 30
    root = ET.Element("svg", {"xmlns": SVG_NS, "viewBox": f"0 0 {width} {height}", "role": "img", "aria-label": label, "class": "relation-graph",
                              "focusable": "false", "id": f"graph-{uuid.uuid4().hex[:8]}"})
    ET.SubElement(root, "title").text = label
    edges = ET.SubElement(root, "g", {"class": "edges", "stroke": "#59636e", "stroke-width": "1.5"})
    labels = ET.SubElement(root, "g", {"class": "nodes", "font-size": "12", "font-family": "system-ui, sans-serif", "text-anchor": "middle"})
    for index, node in enumerate(nodes):
        angle = -math.pi / 2 + 2 * math.pi * index / max(1, len(nodes))
        x, y = cx + rx * math.cos(angle), cy + ry * math.sin(angle)
        ET.SubElement(edges, "line", {"x1": f"{cx:.1f}", "y1": f"{cy:.1f}", "x2": f"{x:.1f}", "y2": f"{y:.1f}"})
        mx, my = (cx + x) / 2, (cy + y) / 2
        _text(labels, mx, my - 4, node.relation, fill="#59636e", **{"font-style": "italic"})
        link = ET.SubElement(labels, "g", {"class": "node", "data-ref": node.ref})
        ET.SubElement(link, "rect", {"x": f"{x - 82:.1f}", "y": f"{y - 16:.1f}", "width": "164", "height": "32", "rx": "6",
                                     "fill": "#ffffff", "stroke": "#0b5cad"})
        _text(link, x, y + 4, _short(node.label), fill="#0b5cad")
    ET.SubElement(labels, "rect", {"x": f"{cx - 100:.1f}", "y": f"{cy - 18:.1f}", "width": "200", "height": "36", "rx": "8", "fill": "#0b5cad"})
    _text(labels, cx, cy + 5, _short(center, 24), fill="#ffffff", **{"font-weight": "bold"})
    return Markup(ET.tostring(root, encoding="unicode"))
