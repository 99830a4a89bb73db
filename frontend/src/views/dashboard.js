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

export function dashboardView(app, container) {
  const store = app.dashboard;
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
