/* The frames each api function sends, recorded by a fake connection as they go on the wire. */
import assert from "node:assert/strict";
import { test } from "node:test";

import { Api, PAGE_LIMIT, STREAMS } from "../src/protocol.js";

/** Records requests and subscriptions; answers each request with `replies.shift()` or []. */
class FakeConnection {
  constructor(replies = []) {
    this.replies = replies;
    this.frames = [];
  }

  // JSON, as dcrf-client sends it: an argument left undefined is not in the frame.
  record(stream, payload) {
    this.frames.push({ stream, payload: JSON.parse(JSON.stringify(payload)) });
  }

  async request(stream, payload) {
    this.record(stream, payload);
    return this.replies.length ? this.replies.shift() : [];
  }

  async subscribe(stream, spec, onPush) {
    this.record(stream, spec);
    return { requestId: "r1", cancel() {}, onPush };
  }
}

const push = () => {};

// Each use of the protocol, and the one frame it must send.
const USES = [
  ["rooms.list", (api) => api.rooms.list(), "rooms", { action: "list", limit: PAGE_LIMIT }],
  ["rooms.retrieve", (api) => api.rooms.retrieve(5), "rooms", { action: "retrieve", pk: 5 }],
  ["rooms.create", (api) => api.rooms.create({ name: "harbour", title: "Harbour talk", isPrivate: true }),
    "rooms", { action: "create", data: { name: "harbour", title: "Harbour talk", is_private: true } }],
  ["rooms.join", (api) => api.rooms.join(5), "rooms", { action: "join", pk: 5 }],
  ["rooms.leave", (api) => api.rooms.leave(5), "rooms", { action: "leave", pk: 5 }],
  ["rooms.invite", (api) => api.rooms.invite(5, 9), "rooms", { action: "invite", pk: 5, user: 9 }],
  ["rooms.members", (api) => api.rooms.members(5), "rooms", { action: "members", pk: 5, limit: PAGE_LIMIT }],
  ["rooms.subscribe", (api) => api.rooms.subscribe(push), "rooms", { action: "subscribe_rooms" }],
  ["messages.list latest", (api) => api.messages.list({ room: 5, limit: 50 }),
    "messages", { action: "list", room: 5, limit: 50 }],
  ["messages.list after", (api) => api.messages.list({ room: 5, after: 40, limit: 100 }),
    "messages", { action: "list", room: 5, after: 40, limit: 100 }],
  ["messages.list before", (api) => api.messages.list({ room: 5, before: 12, limit: 50 }),
    "messages", { action: "list", room: 5, before: 12, limit: 50 }],
  ["messages.create", (api) => api.messages.create({ room: 5, body: "Hi", clientId: "c-1" }),
    "messages", { action: "create", data: { room: 5, body: "Hi", client_id: "c-1" } }],
  ["messages.patch", (api) => api.messages.patch(7, { body: "Hello" }),
    "messages", { action: "patch", pk: 7, data: { body: "Hello" } }],
  ["messages.delete", (api) => api.messages.delete(7), "messages", { action: "delete", pk: 7 }],
  ["messages.subscribeRoom", (api) => api.messages.subscribeRoom(5, push),
    "messages", { action: "subscribe_room", room: 5 }],
  ["presence.list", (api) => api.presence.list(5), "presence", { action: "list", room: 5 }],
  ["presence.typing", (api) => api.presence.typing(5), "presence", { action: "typing", room: 5 }],
  ["presence.subscribeRoom", (api) => api.presence.subscribeRoom(5, push),
    "presence", { action: "subscribe_room", room: 5 }],
  ["calls.list", (api) => api.calls.list(), "calls", { action: "list" }],
  ["calls.create", (api) => api.calls.create({ callee: 9, room: 5 }),
    "calls", { action: "create", data: { callee: 9, room: 5 } }],
  ["calls.accept", (api) => api.calls.accept(3), "calls", { action: "accept", pk: 3 }],
  ["calls.reject", (api) => api.calls.reject(3), "calls", { action: "reject", pk: 3 }],
  ["calls.hangup", (api) => api.calls.hangup(3), "calls", { action: "hangup", pk: 3 }],
  ["calls.media connected", (api) => api.calls.media(3, { state: "connected" }),
    "calls", { action: "media", pk: 3, state: "connected" }],
  ["calls.media failed", (api) => api.calls.media(3, { state: "failed", reason: "ice_failed" }),
    "calls", { action: "media", pk: 3, state: "failed", reason: "ice_failed" }],
  ["calls.iceServers", (api) => api.calls.iceServers(), "calls", { action: "ice_servers" }],
  ["calls.subscribe", (api) => api.calls.subscribe(push), "calls", { action: "subscribe_calls" }],
  ["calls.dashboard", (api) => api.calls.dashboard(), "calls", { action: "dashboard" }],
  ["calls.figures", (api) => api.calls.figures(), "calls", { action: "figures" }],
  ["calls.subscribeDashboard", (api) => api.calls.subscribeDashboard(push),
    "calls", { action: "subscribe_dashboard" }],
  ["sdp.create", (api) => api.sdp.create({ call: 3, type: "offer", sdp: "v=0" }),
    "sdp", { action: "create", data: { call: 3, type: "offer", sdp: "v=0" } }],
  ["sdp.list", (api) => api.sdp.list(3), "sdp", { action: "list", call: 3 }],
  ["sdp.subscribeCall", (api) => api.sdp.subscribeCall(3, push), "sdp", { action: "subscribe_call", call: 3 }],
  ["ice.create", (api) => api.ice.create({ call: 3, candidate: "" }),
    "ice", { action: "create", data: { call: 3, candidate: "" } }],
  ["ice.list", (api) => api.ice.list(3), "ice", { action: "list", call: 3 }],
  ["ice.subscribeCall", (api) => api.ice.subscribeCall(3, push), "ice", { action: "subscribe_call", call: 3 }],
  ["calls.subscribeFigures", (api) => api.calls.subscribeFigures(push), "calls", { action: "subscribe_figures" }],
  ["quality.create", (api) => api.quality.create(3, { rtt_ms: 42, candidate_type: "host" }),
    "quality", { action: "create", data: { call: 3, rtt_ms: 42, candidate_type: "host" } }],
  ["quality.list", (api) => api.quality.list(3), "quality", { action: "list", call: 3 }],
  ["quality.list last", (api) => api.quality.list(3, 1), "quality", { action: "list", call: 3, last: 1 }],
  ["quality.latest", (api) => api.quality.latest(), "quality", { action: "latest" }],
  ["quality.subscribeCall", (api) => api.quality.subscribeCall(3, push),
    "quality", { action: "subscribe_call", call: 3 }],
  ["quality.subscribeDashboard", (api) => api.quality.subscribeDashboard(push),
    "quality", { action: "subscribe_dashboard" }],
];

for (const [name, use, stream, payload] of USES) {
  test(`${name} sends ${JSON.stringify(payload)} on ${stream}`, async () => {
    const connection = new FakeConnection();
    await use(new Api(connection));
    assert.deepEqual(connection.frames, [{ stream, payload }]);
  });
}

test("every action STREAMS names is sent by some api function, and no other", async () => {
  const connection = new FakeConnection();
  const api = new Api(connection);
  for (const [, use] of USES) await use(api);
  const sent = new Set(connection.frames.map(({ stream, payload }) => `${stream} ${payload.action}`));
  const named = Object.entries(STREAMS).flatMap(([stream, actions]) => actions.map((action) => `${stream} ${action}`));
  assert.deepEqual([...sent].sort(), named.sort());
});

test("a subscription hands pushes to the handler it was given", async () => {
  const connection = new FakeConnection();
  const handler = () => {};
  const subscription = await new Api(connection).messages.subscribeRoom(5, handler);
  assert.equal(subscription.onPush, handler);
});

test("a paged action asks for the next page after the last id of a full one", async () => {
  const full = Array.from({ length: PAGE_LIMIT }, (_, index) => ({ id: index + 1 }));
  const connection = new FakeConnection([full, [{ id: 500 }]]);
  const members = await new Api(connection).rooms.members(5);
  assert.equal(members.length, PAGE_LIMIT + 1);
  assert.deepEqual(connection.frames.map((frame) => frame.payload), [
    { action: "members", pk: 5, limit: PAGE_LIMIT },
    { action: "members", pk: 5, limit: PAGE_LIMIT, after: PAGE_LIMIT },
  ]);
});

test("an action STREAMS does not name is refused before anything is sent", () => {
  const connection = new FakeConnection();
  const api = new Api(connection);
  assert.throws(() => api.rooms.send("remove_member", { pk: 5 }), /not an action of the rooms stream/);
  assert.deepEqual(connection.frames, []);
});

test("STREAMS is frozen, its lists too", () => {
  assert.ok(Object.isFrozen(STREAMS));
  assert.ok(Object.values(STREAMS).every(Object.isFrozen));
});
