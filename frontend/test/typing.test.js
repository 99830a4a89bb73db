import assert from "node:assert/strict";
import { test } from "node:test";

import { Throttle, TypingTracker } from "../src/typing.js";

test("typing is sent at most once per interval, and at once after a reset", () => {
  let now = 0;
  let sent = 0;
  const throttle = new Throttle(() => { sent += 1; }, 2500, () => now);
  for (now = 0; now < 6000; now += 100) throttle.poke();
  assert.equal(sent, 3); // at 0, 2500 and 5000 ms
  throttle.reset();
  throttle.poke();
  assert.equal(sent, 4);
});

test("a typing name lapses when its signals stop, or at once when they send", () => {
  let now = 0;
  const tracker = new TypingTracker(5000, () => now);
  tracker.typing({ id: 1, display_name: "Ann" });
  now = 1000;
  tracker.typing({ id: 2, username: "bo" });
  assert.deepEqual(tracker.names(), ["Ann", "bo"]);
  now = 5500;
  assert.deepEqual(tracker.names(), ["bo"]);
  tracker.stopped(2);
  assert.deepEqual(tracker.names(), []);
});
