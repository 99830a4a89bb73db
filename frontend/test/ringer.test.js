/* The ring of an incoming call: the title flashes until it stops, then is as it was. */
import assert from "node:assert/strict";
import { test } from "node:test";

import { Ringer } from "../src/ringer.js";

function fakeTimers() {
  const timers = { ticks: new Map(), next: 1 };
  timers.setInterval = (fn) => { timers.ticks.set(timers.next, fn); return timers.next++; };
  timers.clearInterval = (id) => timers.ticks.delete(id);
  timers.tick = () => [...timers.ticks.values()].forEach((fn) => fn());
  return timers;
}

test("the title flashes while a call rings and comes back after", () => {
  const doc = { title: "Harbour talk · Parley" };
  const timers = fakeTimers();
  const ringer = new Ringer({ doc, timers, makeAudio: () => { throw new Error("no audio"); }, notifications: null });
  ringer.start("Alice is calling you");
  assert.equal(doc.title, "📞 Alice is calling you");
  timers.tick();
  assert.equal(doc.title, "Harbour talk · Parley");
  timers.tick();
  assert.equal(doc.title, "📞 Alice is calling you");
  ringer.stop();
  assert.equal(doc.title, "Harbour talk · Parley");
  assert.equal(timers.ticks.size, 0);
});

test("a notification shows only where allowed, and closes with the ring", () => {
  const shown = [];
  class Notice {
    constructor(title, options) { this.options = options; this.closed = false; shown.push(this); }
    close() { this.closed = true; }
  }
  Notice.permission = "granted";
  const ringer = new Ringer({ doc: { title: "" }, timers: fakeTimers(), makeAudio: () => { throw new Error(); }, notifications: Notice });
  ringer.start("Bob is calling you");
  assert.equal(shown[0].options.body, "Bob is calling you");
  ringer.stop();
  assert.equal(shown[0].closed, true);
  Notice.permission = "denied";
  ringer.start("Bob is calling you");
  assert.equal(shown.length, 1);
});
