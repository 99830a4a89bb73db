/**
 * A call's quality over time, one small uPlot chart per measure (round-trip time, loss,
 * bitrate received), a line per party. Drawn once, then given new data as samples arrive.
 */

import uPlot from "uplot";

import { h } from "../dom.js";
import { chartColumns } from "../quality.js";
import { displayName } from "../words.js";

export const MEASURES = [
  { field: "rtt_ms", title: "Round-trip time", unit: "ms" },
  { field: "loss_percent", title: "Packets lost", unit: "%" },
  { field: "bitrate_in_kbps", title: "Received", unit: "kbit/s" },
];
const COLOURS = ["#2563eb", "#db2777"];
const HEIGHT = 150;

export class CallChart {
  constructor(call) {
    this.parties = [call.caller, call.callee];
    this.element = h("div", { class: "call-charts", dataset: { points: "0" } });
    this.charts = null;
  }

  /** Draw ``samples`` (both parties', oldest first). */
  update(samples) {
    const key = `${samples.length}:${samples.at(-1)?.id ?? 0}`;
    if (this.charts && key === this.drawn) return;
    this.drawn = key;
    const ids = this.parties.map((user) => user.id);
    const data = MEASURES.map(({ field }) => chartColumns(samples, ids, field));
    this.element.dataset.points = String(data[0][0].length);
    if (!this.element.isConnected) return;
    if (!this.charts) {
      this.charts = MEASURES.map((measure, index) => this.chart(measure, data[index]));
    } else {
      this.charts.forEach((chart, index) => chart.setData(data[index]));
    }
  }

  chart({ title, unit }, data) {
    const box = h("figure", { class: "call-chart" }, h("figcaption", {}, `${title} (${unit})`));
    this.element.append(box);
    const width = Math.max(260, Math.floor((this.element.clientWidth || 900) / MEASURES.length) - 16);
    return new uPlot({
      width,
      height: HEIGHT,
      scales: { x: { time: true } },
      axes: [{}, { size: 48 }],
      series: [
        {},
        ...this.parties.map((user, index) => ({
          label: displayName(user), stroke: COLOURS[index], width: 2, spanGaps: true, points: { show: true, size: 4 },
        })),
      ],
    }, data, box);
  }

  destroy() {
    this.charts?.forEach((chart) => chart.destroy());
    this.charts = null;
  }
}
