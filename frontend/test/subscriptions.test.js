/*
 * Our subscription options on the real dcrf-client 0.3.0, over a fake transport: the frames it
 * sends and which received frames reach the callback.
 */
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { createRequire } from "node:module";
import { test } from "node:test";

import { subscriptionOptions, unsubscribePayload } from "../src/subscriptions.js";

const require = createRequire(import.meta.url);
const dcrf = require("dcrf-client").default;

class FakeTransport extends EventEmitter {
  constructor() {
    super();
    this.sent = [];
    // dcrf-client passes these around unbound (its own transport autobinds them).
    this.send = this.send.bind(this);
    this.isConnected = this.isConnected.bind(this);
  }

  connect() { return true; }

  disconnect() { return true; }

  isConnected() { return true; }

  send(bytes) { this.sent.push(JSON.parse(bytes)); }

  receive(frame) { this.emit("message", { data: JSON.stringify(frame) }); }
}

function client() {
  const transport = new FakeTransport();
  const instance = dcrf.createClient("ws://test/ws/", { ...subscriptionOptions, transport });
  instance.initialize();
  return { instance, transport };
}

const reply = (stream, requestId, action, status, data = null, errors = []) => ({
  stream, payload: { errors, data, action, response_status: status, request_id: requestId },
});

test("a spec becomes the subscribe request, and pushes (not the ack) reach the callback", async () => {
  const { instance, transport } = client();
  const seen = [];
  const subscription = instance.subscribe("messages", { action: "subscribe_room", room: 5 },
    (data, action) => seen.push([action, data]), "r1");
  assert.deepEqual(transport.sent, [
    { stream: "messages", payload: { action: "subscribe_room", room: 5, request_id: "r1" } },
  ]);
  transport.receive(reply("messages", "r1", "subscribe_room", 201));
  await subscription;
  transport.receive(reply("messages", "r1", "create", 200, { id: 7, room: 5, body: "hi" }));
  transport.receive(reply("messages", "r1", "update", 200, { id: 7, room: 5, body: "hey" }));
  transport.receive(reply("messages", "r1", "delete", 200, { pk: 7, room: 5 }));
  transport.receive(reply("messages", "other", "create", 200, { id: 8, room: 6 }));
  transport.receive(reply("presence", "r1", "create", 200, { room: 5 }));
  assert.deepEqual(seen, [
    ["create", { id: 7, room: 5, body: "hi" }],
    ["update", { id: 7, room: 5, body: "hey" }],
    ["delete", { id: 7, room: 5 }],
  ]);
});

test("a revoked subscription is reported to the callback", async () => {
  const { instance, transport } = client();
  const seen = [];
  instance.subscribe("presence", { action: "subscribe_room", room: 5 }, (data, action) => seen.push(action), "r2");
  transport.receive(reply("presence", "r2", "subscribe_room", 201));
  transport.receive(reply("presence", "r2", "revoked", 403, { room: 5 }, ["You are no longer a member of this room."]));
  assert.deepEqual(seen, ["revoked"]);
});

test("several kinds of subscription share one client, and all are re-sent on reconnect", () => {
  const { instance, transport } = client();
  instance.subscribe("rooms", { action: "subscribe_rooms" }, () => {}, "lobby");
  instance.subscribe("calls", { action: "subscribe_calls" }, () => {}, "calls");
  const cancelled = instance.subscribe("sdp", { action: "subscribe_call", call: 3 }, () => {}, "sdp");
  cancelled.cancel();
  transport.sent = [];
  transport.emit("reconnect");
  assert.deepEqual(transport.sent, [
    { stream: "rooms", payload: { action: "subscribe_rooms", request_id: "lobby" } },
    { stream: "calls", payload: { action: "subscribe_calls", request_id: "calls" } },
  ]);
});

test("the unsubscribe request mirrors the subscribe spec", () => {
  assert.deepEqual(unsubscribePayload({ action: "subscribe_room", room: 5 }), { action: "unsubscribe_room", room: 5 });
  assert.deepEqual(unsubscribePayload({ action: "subscribe_dashboard" }), { action: "unsubscribe_dashboard" });
});
