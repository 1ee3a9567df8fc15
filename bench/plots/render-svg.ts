/**
 * Vega-Lite spec → SVG text, headless: vega-lite compiles the spec to Vega,
 * and a Vega View with no renderer (no canvas, no DOM) writes the SVG.
 * NOTE: without a canvas vega estimates a text's width at 0.8 em per
 * character, well above a real font's, and truncates labels past their
 * labelLimit by that estimate; so the limits here are generous (400+ px) and
 * labels short.
 */
import { parse, View } from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

/** One look for every plot: readable on GitHub's white page at its natural size. */
export const PLOT_CONFIG = {
  font: "Helvetica, Arial, sans-serif",
  background: "white",
  padding: 12,
  title: { fontSize: 15, anchor: "start", subtitleFontSize: 11, subtitleColor: "#555" },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: "#e6e6e6", labelLimit: 400 },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 480 },
  header: { labelFontSize: 12, titleFontSize: 12 },
  view: { stroke: "#ccc" },
} as const;

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const vega = compile({ ...spec, config: { ...PLOT_CONFIG, ...(spec.config ?? {}) } } as TopLevelSpec).spec;
  const view = new View(parse(vega), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
