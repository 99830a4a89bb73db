/**
 * Staff: the figures at the top; a live table of every call — parties, state, started,
 * duration, the quality each party measures; and a call's detail with its quality over time.
 */

import { h, replace, timeElement } from "../dom.js";
import { qualityWords, worstRating } from "../quality.js";
import { displayName, formatDuration, formatSetUp, stateWords } from "../words.js";
import { CallChart } from "./call-chart.js";


function duration(call, now) {
  if (call.duration != null) return formatDuration(call.duration);
  if (call.state === "accepted" && call.answered_at) {
    return formatDuration((now - Date.parse(call.answered_at)) / 1000);
  }
  return "—";
}

/** Each party's latest sample: the worst rating as a badge, and what each measures. */
function qualityCell(call, samples) {
  const parties = [call.caller, call.callee].filter((user) => samples.has(user.id));
  if (parties.length === 0) return "—";
  const rating = worstRating(...parties.map((user) => samples.get(user.id).rating));
  return [
    h("span", { class: `quality-badge quality-${rating}` }, rating),
    ...parties.map((user) => h("span", { class: "quality-line", dataset: { userId: user.id } },
      `${displayName(user)}: ${qualityWords(samples.get(user.id))}`)),
  ];
}

/**
 * The table's rows, kept per call and changed in place: the table is redrawn every second
 * while a call is in progress, and a rebuilt row would lose a click in progress or the focus.
 */
class Rows {
  constructor(body, open) {
    this.body = body;
    this.open = open;
    this.rows = new Map();
  }

  show(calls, now, quality) {
    const shown = new Set();
    let previous = null;
    for (const call of calls) {
      shown.add(call.id);
      const row = this.rows.get(call.id) ?? this.make(call);
      this.fill(row, call, now, quality(call.id));
      const place = previous ? previous.nextSibling : this.body.firstChild;
      if (place !== row.tr) this.body.insertBefore(row.tr, place);
      previous = row.tr;
    }
    for (const [id, row] of this.rows) {
      if (!shown.has(id)) {
        row.tr.remove();
        this.rows.delete(id);
      }
    }
  }

  make(call) {
    const cell = (name) => h("td", { class: name });
    const row = {
      tr: h("tr", { dataset: { callId: call.id } }),
      cells: { caller: cell("caller"), callee: cell("callee"), state: cell("state"), started: cell("started"),
        duration: cell("duration"), quality: cell("quality") },
    };
    row.tr.append(
      h("th", { scope: "row" }, h("button", { type: "button", class: "link-button call-link",
        "aria-label": `Details of call #${call.id}`, onClick: () => this.open(call.id) }, `#${call.id}`)),
      ...Object.values(row.cells));
    this.rows.set(call.id, row);
    return row;
  }

  /** Redraw a cell only when what it says changed. */
  fill(row, call, now, samples) {
    row.tr.dataset.state = call.state;
    const set = (name, key, content) => {
      const cell = row.cells[name];
      if (cell.dataset.key === key) return;
      cell.dataset.key = key;
      replace(cell, content());
    };
    set("caller", displayName(call.caller), () => displayName(call.caller));
    set("callee", displayName(call.callee), () => displayName(call.callee));
    set("state", call.state + call.end_reason, () => h("span", { class: `state-pill state-${call.state}` }, stateWords(call)));
    set("started", call.created_at, () => timeElement(call.created_at, true));
    const time = duration(call, now);
    set("duration", time, () => time);
    const ids = [...samples.values()].map((sample) => sample.id).join(",");
    set("quality", ids, () => qualityCell(call, samples));
  }
}

function setUp(call) {
  if (!call.connected_at) return "—";
  return formatSetUp((Date.parse(call.connected_at) - Date.parse(call.created_at)) / 1000);
}

/** One call: who, what became of it, and its quality over time. */
class CallDetail {
  constructor(store, callId, close) {
    this.store = store;
    this.callId = callId;
    this.facts = h("dl", { class: "call-facts" });
    this.chart = null;
    this.element = h("section", { class: "card call-detail", "aria-labelledby": "call-detail-title" },
      h("div", { class: "call-head" },
        h("h2", { id: "call-detail-title" }, `Call #${callId}`),
        h("button", { type: "button", class: "small", onClick: close }, "Close")),
      this.facts);
    store.follow(callId).catch(() => {});
  }

  render(now) {
    const call = this.store.get(this.callId);
    if (!call) return;
    const fact = (label, value) => [h("dt", {}, label), h("dd", {}, value)];
    replace(this.facts,
      fact("Parties", `${displayName(call.caller)} → ${displayName(call.callee)}`),
      fact("State", stateWords(call)),
      fact("Set-up", setUp(call)),
      fact("Duration", duration(call, now)),
      call.end_reason ? fact("Ended by", call.end_reason) : []);
    if (!this.chart) {
      this.chart = new CallChart(call);
      this.element.append(this.chart.element);
    }
    this.chart.update(this.store.series.get(this.callId) ?? []);
  }

  destroy() {
    this.chart?.destroy();
    this.store.unfollow(this.callId);
    this.element.remove();
  }
}

function seconds(value, format = formatDuration) {
  return value == null ? "—" : format(value);
}

/** Calls now, and today's outcomes, answer rate, set-up time and duration. */
function figuresList(figures) {
  if (!figures) return [];
  const rate = figures.answer_rate == null ? "—" : `${Math.round(figures.answer_rate * 100)} %`;
  const item = (name, label, value) => h("div", { class: "figure", dataset: { figure: name } },
    h("dt", {}, label), h("dd", {}, String(value)));
  const outcomes = Object.entries(figures.outcomes)
    .filter(([, count]) => count > 0)
    .map(([outcome, count]) => `${count} ${outcome}`)
    .join(", ") || "none yet";
  return [
    item("ringing", "Ringing now", figures.now.ringing),
    item("in-progress", "In progress", figures.now.in_progress),
    item("calls", "Calls today", figures.calls),
    item("answer-rate", "Answered", rate),
    item("set-up", "Set-up, median / p90", `${seconds(figures.set_up_seconds.median, formatSetUp)} / ${seconds(figures.set_up_seconds.p90, formatSetUp)}`),
    item("duration", "Duration, median / p90", `${seconds(figures.duration_seconds.median)} / ${seconds(figures.duration_seconds.p90)}`),
    item("outcomes", "Outcomes today", outcomes),
  ];
}

export function dashboardView(app, container) {
  const store = app.dashboard;
  const figures = h("dl", { class: "figures", "aria-label": "Call figures" });
  const body = h("tbody");
  const empty = h("p", { class: "empty" });
  const detailArea = h("div");
  let detail = null;
  const open = (callId) => {
    detail?.destroy();
    detail = new CallDetail(store, callId, close);
    detailArea.append(detail.element);
    render();
    detail.element.scrollIntoView({ block: "nearest" });
  };
  const close = () => {
    detail?.destroy();
    detail = null;
  };
  const rows = new Rows(body, open);
  const render = () => {
    if (store.allowed === false) {
      empty.textContent = "The call dashboard is for staff.";
      empty.hidden = false;
      table.hidden = true;
      return;
    }
    const now = Date.now();
    replace(figures, figuresList(store.figures));
    rows.show(store.calls, now, (id) => store.quality(id));
    table.hidden = store.calls.length === 0;
    empty.hidden = store.calls.length > 0;
    empty.textContent = store.allowed && store.loaded ? "No calls yet. Calls appear here as they ring." : "Loading…";
    detail?.render(now);
  };
  const table = h("table", { class: "dashboard-table" },
    h("caption", {}, "Calls in progress and the latest 100, live"),
    h("thead", {}, h("tr", {},
      ["Call", "Caller", "Callee", "State", "Started", "Duration", "Quality"].map((name) => h("th", { scope: "col" }, name)))),
    body);
  replace(container,
    h("section", { class: "card dashboard", "aria-labelledby": "dashboard-title" },
      h("h1", { id: "dashboard-title" }, "Call dashboard"),
      figures,
      empty,
      h("div", { class: "table-scroll" }, table)),
    detailArea);
  render();
  const stop = store.watch(render);
  // The figures and every call's quality, only while the dashboard is on screen. Before the
  // server's answer to start(), `allowed` is unknown: try again once it is.
  const follow = () => store.open().catch((error) => console.warn("parley: dashboard feeds", error));
  follow();
  const retry = store.watch(() => { if (store.allowed) follow(); });
  // Durations of calls in progress count up.
  const ticker = setInterval(() => {
    if (store.calls.some((call) => call.state === "accepted")) render();
  }, 1000);
  return () => {
    stop();
    retry();
    clearInterval(ticker);
    close();
    store.close();
  };
}
