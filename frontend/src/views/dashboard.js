/** Staff: a live table of every call — parties, state, started, duration. */

import { h, replace, timeElement } from "../dom.js";
import { displayName, formatDuration, stateWords } from "../words.js";

function duration(call, now) {
  if (call.duration != null) return formatDuration(call.duration);
  if (call.state === "accepted" && call.answered_at) {
    return formatDuration((now - Date.parse(call.answered_at)) / 1000);
  }
  return "—";
}

function row(call, now) {
  return h("tr", { dataset: { callId: call.id, state: call.state } },
    h("th", { scope: "row" }, `#${call.id}`),
    h("td", { class: "caller" }, displayName(call.caller)),
    h("td", { class: "callee" }, displayName(call.callee)),
    h("td", { class: "state" }, h("span", { class: `state-pill state-${call.state}` }, stateWords(call))),
    h("td", { class: "started" }, timeElement(call.created_at, true)),
    h("td", { class: "duration" }, duration(call, now)));
}

function seconds(value) {
  return value == null ? "—" : formatDuration(value);
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
    item("set-up", "Set-up, median / p90", `${seconds(figures.set_up_seconds.median)} / ${seconds(figures.set_up_seconds.p90)}`),
    item("duration", "Duration, median / p90", `${seconds(figures.duration_seconds.median)} / ${seconds(figures.duration_seconds.p90)}`),
    item("outcomes", "Outcomes today", outcomes),
  ];
}

export function dashboardView(app, container) {
  const store = app.dashboard;
  const figures = h("dl", { class: "figures", "aria-label": "Call figures" });
  const body = h("tbody");
  const empty = h("p", { class: "empty" });
  const render = () => {
    if (store.allowed === false) {
      empty.textContent = "The call dashboard is for staff.";
      empty.hidden = false;
      table.hidden = true;
      return;
    }
    const now = Date.now();
    replace(figures, figuresList(store.figures));
    replace(body, store.calls.map((call) => row(call, now)));
    table.hidden = store.calls.length === 0;
    empty.hidden = store.calls.length > 0;
    empty.textContent = store.allowed && store.loaded ? "No calls yet. Calls appear here as they ring." : "Loading…";
  };
  const table = h("table", { class: "dashboard-table" },
    h("caption", {}, "Calls in progress and the latest 100, live"),
    h("thead", {}, h("tr", {},
      ["Call", "Caller", "Callee", "State", "Started", "Duration"].map((name) => h("th", { scope: "col" }, name)))),
    body);
  replace(container,
    h("section", { class: "card dashboard", "aria-labelledby": "dashboard-title" },
      h("h1", { id: "dashboard-title" }, "Call dashboard"),
      figures,
      empty,
      h("div", { class: "table-scroll" }, table)));
  render();
  const stop = store.watch(render);
  // Durations of calls in progress count up.
  const ticker = setInterval(() => {
    if (store.calls.some((call) => call.state === "accepted")) render();
  }, 1000);
  return () => {
    stop();
    clearInterval(ticker);
  };
}
