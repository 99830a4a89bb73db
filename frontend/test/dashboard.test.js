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
