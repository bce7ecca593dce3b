"""Faces on hover: a small custom component that shows the face crop under the mouse in a Plotly chart.

Plotly's own hover labels hold text only. This component (Streamlit custom
components v2: plain JavaScript in the page, no iframe, nothing downloaded)
finds the chart drawn with ``st.plotly_chart(..., key=chart_key)``, listens to
Plotly's ``plotly_hover``/``plotly_unhover`` events, and shows a floating card
with the face whose ``customdata`` index the point carries and the point's
hover text, next to the mouse.
The pictures travel once per dataset as small data URIs; Streamlit sends an
unchanged element by reference on later reruns.
"""

from __future__ import annotations

import streamlit as st

_JS = r"""
export default function ({ data }) {
  const chart = data && data.chart;
  const images = (data && data.images) || [];
  let tip = document.getElementById("facecore-hover-face");
  if (!tip) {
    tip = document.createElement("div");
    tip.id = "facecore-hover-face";
    tip.setAttribute("role", "tooltip");
    tip.style.cssText = [
      "position:fixed", "z-index:100000", "display:none", "pointer-events:none",
      "background:#ffffff", "border:1px solid #d1d5db", "border-radius:6px",
      "box-shadow:0 4px 14px rgba(0,0,0,.18)", "padding:4px", "font:12px sans-serif",
      "color:#111827", "max-width:180px",
    ].join(";");
    const img = document.createElement("img");
    img.style.cssText = "display:block;width:96px;height:96px;object-fit:cover;border-radius:4px";
    img.alt = "face under the mouse";
    const cap = document.createElement("div");
    cap.style.cssText = "margin-top:3px;white-space:pre-line;word-break:break-all;line-height:1.25";
    tip.append(img, cap);
    document.body.appendChild(tip);
    // Plotly's unhover is lost when the chart is redrawn under the mouse (a click reruns the page):
    // the card also goes as soon as the mouse is over anything but a chart.
    document.addEventListener("mousemove", (e) => {
      const over = e.target && e.target.closest && e.target.closest(".js-plotly-plot");
      if (!over && tip.style.display !== "none") tip.style.display = "none";
    }, { passive: true });
  }
  const hide = () => { tip.style.display = "none"; };
  const show = (ev) => {
    if (!ev || !ev.points || !ev.points.length) { hide(); return; }
    const p = ev.points[0];
    if (p.data && p.data.type === "scatter3d") { hide(); return; }  // 3-D: Plotly's own label only
    let idx = p.customdata;
    if (Array.isArray(idx)) idx = idx[0];
    const state = tip.__facecore || { images: [] };
    const src = Number.isInteger(idx) ? state.images[idx] : "";
    const m = ev.event || {};
    if (!src || typeof m.clientX !== "number") { hide(); return; }
    tip.firstChild.src = src;
    // the point's own hover text (file, person, cluster), one line each
    tip.lastChild.textContent = String(p.hovertext || "").split("<br>").join("\n");
    const x = m.clientX + 18, y = m.clientY + 18;
    tip.style.display = "block";
    const w = tip.offsetWidth, h = tip.offsetHeight;
    tip.style.left = Math.min(x, window.innerWidth - w - 8) + "px";
    tip.style.top = (y + h > window.innerHeight - 8 ? Math.max(8, y - h - 36) : y) + "px";
  };
  tip.__facecore = { images };
  const attach = () => {
    const host = document.querySelector(".st-key-" + chart);
    const gd = host && host.querySelector(".js-plotly-plot");
    if (!gd || typeof gd.on !== "function" || gd.__facecoreHover) return;
    gd.__facecoreHover = true;
    gd.on("plotly_hover", show);
    gd.on("plotly_unhover", hide);
    gd.on("plotly_afterplot", hide);  // redrawn (new K, new star): the point under the mouse may have changed
  };
  attach();
  // The chart is redrawn (and sometimes re-created) on reruns: look again now and then.
  const timer = setInterval(attach, 400);
  return () => { clearInterval(timer); hide(); };
}
"""

_component = st.components.v2.component("facecore_hover_faces", js=_JS)


def hover_faces(chart_key: str, images: list[str]) -> None:
    """Show ``images[i]`` (a data URI) and the point's hover text beside the mouse when it hovers face ``i``.

    ``chart_key`` is the ``key`` given to ``st.plotly_chart``; the points'
    ``customdata`` must be face indices. Draw the chart with Plotly's own
    label off for those points (``hoverinfo="none"``: the events still fire)
    so the two do not overlap. The data changes only with the dataset, so
    slider moves do not send the pictures again. Renders nothing visible itself.
    """
    _component(data={"chart": chart_key, "images": images}, key=f"{chart_key}_hover_faces")
