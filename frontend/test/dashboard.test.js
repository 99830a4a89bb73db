/* The dashboard's snapshot and pushes, in whatever order they arrive: each call once, latest state. */
import assert from "node:assert/strict";
import { test } from "node:test";

import { mergeCalls } from "../src/stores.js";

const call = (id, state, extra = {}) => ({
  id, state, end_reason: "", caller: { id: 1 }, callee: { id: 2 }, ...extra,
});

test("a change pushed before the snapshot arrives is not undone by it", () => {
  const items = mergeCalls(new Map(), [call(7, "accepted")]); // the push came first
  mergeCalls(items, [call(7, "ringing"), call(6, "ended", { end_reason: "hangup" })]);
  assert.deepEqual([...items.values()].map((c) => [c.id, c.state]), [[7, "accepted"], [6, "ended"]]);
});

test("a change in both the snapshot and a push is kept once", () => {
  const items = mergeCalls(new Map(), [call(7, "accepted")]);
  mergeCalls(items, [call(7, "accepted")]);
  assert.equal(items.size, 1);
});

test("a late push of an earlier state does not bring an ended call back", () => {
  const items = mergeCalls(new Map(), [call(7, "missed", { end_reason: "missed" })]);
  mergeCalls(items, [call(7, "ringing")]);
  assert.equal(items.get(7).state, "missed");
});

/** The dashboard's part of the protocol, recorded; pushes are driven by the test. */
function fakeApi() {
  const log = [];
  const handlers = {};
  const subscription = (name, onPush) => {
    log.push(name);
    handlers[name] = onPush;
    return Promise.resolve({ cancel: () => log.push(`cancel ${name}`) });
  };
  return {
    log,
    handlers,
    connection: { on: () => () => {} },
    calls: {
      subscribeDashboard: (onPush) => subscription("calls", onPush),
      subscribeFigures: (onPush) => subscription("figures", onPush),
      dashboard: async () => [call(7, "accepted"), call(6, "ended", { end_reason: "hangup" })],
    },
    quality: {
      subscribeDashboard: (onPush) => subscription("quality", onPush),
      latest: async () => { log.push("latest"); return [{ id: 3, call: 7, sender: 1, rating: "good" }]; },
      list: async (id) => { log.push(`list ${id}`); return [{ id: 2, call: id, sender: 2 }, { id: 3, call: id, sender: 1 }]; },
    },
  };
}

test("the figures and the quality feed are followed only while the dashboard is open", async () => {
  const { DashboardStore } = await import("../src/stores.js");
  const api = fakeApi();
  const store = new DashboardStore(api);
  assert.equal(await store.start(), true);
  assert.deepEqual(api.log, ["calls"]); // a staff tab elsewhere in the app: calls only
  await store.open();
  assert.deepEqual(api.log, ["calls", "figures", "quality", "latest"]);
  assert.equal(store.quality(7).get(1).id, 3);
  api.handlers.quality({ id: 9, call: 7, sender: 2, rating: "poor" });
  assert.deepEqual([...store.quality(7).keys()].sort(), [1, 2]);
  api.handlers.quality({ id: 1, call: 7, sender: 2, rating: "good" }); // an older one, late
  assert.equal(store.quality(7).get(2).id, 9);
  store.close();
  assert.deepEqual(api.log.slice(-2), ["cancel figures", "cancel quality"]);
});

test("an open call detail keeps its series whole, once each", async () => {
  const { DashboardStore } = await import("../src/stores.js");
  const api = fakeApi();
  const store = new DashboardStore(api);
  await store.start();
  await store.follow(7);
  api.handlers.calls?.(call(7, "accepted"));
  store.sampled([{ id: 3, call: 7, sender: 1 }, { id: 4, call: 7, sender: 2 }]);
  assert.deepEqual(store.series.get(7).map((sample) => sample.id), [2, 3, 4]);
  store.unfollow(7);
  assert.equal(store.series.has(7), false);
});
