import assert from "node:assert/strict";
import { test } from "node:test";

import { MessageLog, newClientId } from "../src/messages.js";

const message = (id, body = `m${id}`, edited_at = null, client_id = null) => ({
  id, room: 1, author: { id: 1, display_name: "Alice" }, body, edited_at, client_id,
  created_at: "2026-01-01T00:00:00Z",
});

test("messages are kept in id order whatever order they arrive in", () => {
  const log = new MessageLog();
  log.merge([message(5), message(6)]);
  log.upsert(message(9));
  log.merge([message(7), message(8)]);
  log.merge([message(2), message(3)]);
  assert.deepEqual(log.messages.map((m) => m.id), [2, 3, 5, 6, 7, 8, 9]);
  assert.equal(log.oldestId, 2);
  assert.equal(log.nextId(3), 5);
  assert.equal(log.nextId(9), null);
});

test("a message arriving twice (reply, push, catch-up page) is kept once", () => {
  const log = new MessageLog();
  assert.equal(log.upsert(message(1)), "added");
  assert.equal(log.upsert(message(1)), null);
  assert.deepEqual(log.merge([message(1), message(2)]), [2]);
  assert.equal(log.size, 2);
});

test("an edit replaces the message, a stale copy does not undo it", () => {
  const log = new MessageLog();
  log.upsert(message(1, "first"));
  assert.equal(log.upsert(message(1, "second", "2026-01-01T00:01:00Z")), "changed");
  assert.equal(log.upsert(message(1, "first")), null);
  assert.equal(log.upsert(message(1, "third", "2026-01-01T00:00:30Z")), null);
  assert.equal(log.get(1).body, "second");
});

test("a deleted message never comes back from a page fetched before the deletion", () => {
  const log = new MessageLog();
  log.merge([message(1), message(2)]);
  assert.equal(log.remove(2), true);
  assert.deepEqual(log.merge([message(1), message(2), message(3)]), [3]);
  assert.deepEqual(log.messages.map((m) => m.id), [1, 3]);
});

test("the catch-up cursor is the highest id seen, even if that message was deleted", () => {
  const log = new MessageLog();
  log.merge([message(4), message(7)]);
  log.remove(7);
  assert.equal(log.lastSeenId, 7);
  log.remove(12);
  assert.equal(log.lastSeenId, 12);
});

test("reconciling with a fresh page drops messages deleted while away, only within its range", () => {
  const log = new MessageLog();
  log.merge([message(1), message(2), message(3), message(4), message(5)]);
  const { touched, removed } = log.reconcile([message(3), message(5, "edited", "2026-01-01T00:09:00Z"), message(6)]);
  assert.deepEqual(removed, [4]);
  assert.deepEqual(touched, [5, 6]);
  assert.deepEqual(log.messages.map((m) => m.id), [1, 2, 3, 5, 6]);
  assert.deepEqual(log.reconcile([]), { touched: [], removed: [] });
});

test("our own messages are recognised by client_id", () => {
  const log = new MessageLog();
  log.upsert(message(1, "hi", null, "c-1"));
  assert.equal(log.hasClientId("c-1"), true);
  assert.equal(log.hasClientId("c-2"), false);
  assert.equal(log.hasClientId(null), false);
});

test("client ids are UUID v4, with or without crypto.randomUUID", () => {
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  assert.match(newClientId(), uuid);
  const insecure = { getRandomValues: (bytes) => globalThis.crypto.getRandomValues(bytes) };
  const ids = new Set(Array.from({ length: 50 }, () => newClientId(insecure)));
  assert.equal(ids.size, 50);
  for (const id of ids) assert.match(id, uuid);
});

const msg = (id, body, extra = {}) => ({ ...message(id, body), ...extra });

test("a new message numbered past the next one says messages were missed", () => {
  const log = new MessageLog();
  log.merge([msg(10, "a", { seq: 1 }), msg(11, "b", { seq: 2 })]);
  assert.equal(log.skipsAhead(msg(12, "c", { seq: 3 })), false);
  assert.equal(log.skipsAhead(msg(14, "e", { seq: 5 })), true);
  log.upsert(msg(14, "e", { seq: 5 }));
  log.merge([msg(13, "d", { seq: 4 })]); // the catch-up brings the missed one
  assert.equal(log.lastSeq, 5);
  assert.equal(log.skipsAhead(msg(15, "f", { seq: 6 })), false);
  assert.deepEqual(log.messages.map((m) => m.seq), [1, 2, 4, 5]);
});

test("messages without a number (an older server) never look like a gap", () => {
  const log = new MessageLog();
  log.merge([msg(1, "a")]);
  assert.equal(log.skipsAhead(msg(9, "b")), false);
});
