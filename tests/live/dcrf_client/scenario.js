"use strict";
/*
 * The unmodified npm dcrf-client (0.3.0) against a live Parley server.
 *
 * Driven by tests/live/test_dcrf_client.py, or by hand:
 *   PARLEY_WS_URL=ws://127.0.0.1:8000/ws/ ALICE_TOKEN=... BOB_TOKEN=... node scenario.js
 *
 * Prints one JSON line per step on stdout. Any failed assertion, refused request, missing push
 * or unexpected close ends the process with exit code 1 and the reason on stderr; a watchdog
 * makes sure it never hangs.
 */

const assert = require("node:assert/strict");
const WebSocket = require("ws");
// The package is compiled TypeScript: its `connect` lives on the default export.
const dcrf = require("dcrf-client").default;

const WAIT_MS = 10_000;
const SCENARIO_MS = 45_000;

function fail(reason) {
  console.error(`dcrf-client scenario failed: ${reason}`);
  process.exit(1);
}

function requiredEnv(name) {
  const value = process.env[name];
  if (!value) fail(`environment variable ${name} is not set`);
  return value;
}

function report(step, details) {
  console.log(JSON.stringify({ step, ok: true, ...details }));
}

/** Reject with `what` when `promise` has not settled within `ms`, so no step can hang. */
function within(promise, what, ms = WAIT_MS) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what()}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A request made through dcrf-client, bounded in time. dcrf-client rejects a non-2xx reply
 * with the bare payload (not an Error): turn it into an Error that shows the server's answer.
 */
async function ask(who, what, promise) {
  try {
    return await within(promise, () => `${who}: no reply to ${what}`);
  } catch (error) {
    if (error instanceof Error) throw error;
    throw new Error(`${who}: ${what} was refused: ${JSON.stringify(error)}`);
  }
}

/** Records a subscription's callbacks so a step can wait for the one it expects. */
class Inbox {
  constructor(label) {
    this.label = label;
    this.events = [];
    this.waiters = [];
    // dcrf-client calls a subscription callback with (data, action).
    this.callback = (data, action) => this.receive({ action, data });
  }

  receive(event) {
    this.events.push(event);
    for (const waiter of this.waiters.filter((w) => w.matches(event))) waiter.resolve(event);
    this.waiters = this.waiters.filter((w) => !w.matches(event));
  }

  /** The first event (already seen or still to come) that `matches`. */
  waitFor(description, matches) {
    const seen = this.events.find(matches);
    if (seen) return Promise.resolve(seen);
    const arrival = new Promise((resolve) => this.waiters.push({ matches, resolve }));
    const what = () =>
      `${this.label} never saw ${description}; it saw ${JSON.stringify(this.events)}`;
    return within(arrival, what);
  }
}

/**
 * A dcrf-client connected as the token's user. `maxRetries: 0` stops reconnecting-websocket
 * from silently reconnecting and resubscribing, which would hide a server that drops us.
 */
async function connect(who, token, options = {}) {
  const url = new URL(requiredEnv("PARLEY_WS_URL"));
  url.searchParams.set("token", token);
  const client = dcrf.connect(url.toString(), {
    websocket: { WebSocket, maxRetries: 0 },
    ...options,
  });
  const socket = client.transport.socket;
  client.closing = false;
  let problem = "";
  socket.addEventListener("error", (event) => {
    problem = `: ${event.message || event.error || "socket error"}`;
  });
  // Parley accepts, then closes with 4401, a socket it cannot sign in: say so at once.
  // On a socket error reconnecting-websocket reports a close (1000) before the error itself,
  // hence the wait for the next turn of the event loop.
  socket.addEventListener("close", (event) => {
    setImmediate(() => {
      if (client.closing) return;
      fail(`${who}'s socket closed unexpectedly (code ${event.code} ${event.reason}${problem})`);
    });
  });
  // connect() opened the socket already; its open event comes on a later tick.
  await within(
    new Promise((resolve) => client.transport.once("connect", resolve)),
    () => `${who} could not connect to ${requiredEnv("PARLEY_WS_URL")}`,
  );
  return client;
}

/** Close a client (dropping its subscriptions) and wait until its socket has closed. */
async function disconnect(who, client) {
  client.closing = true;
  const socket = client.transport.socket;
  const closed = new Promise((resolve) => socket.addEventListener("close", resolve));
  client.close();
  await within(closed, () => `${who}'s socket did not close`);
}

/**
 * Options for a client whose subscribe() follows a room's messages (`subscribe_room`) rather
 * than one instance. Every push echoes the subscribing request_id with response_status 200;
 * the subscribe ack has 201 (and data null), so neither selector fires on it.
 */
const roomMessagesSubscription = {
  pkField: "id",
  buildSubscribePayload: (room, requestId) => ({
    action: "subscribe_room",
    request_id: requestId,
    room,
  }),
  // Created and edited messages arrive whole: only they carry an author. The dispatcher
  // matches selectors partially (lodash.isMatch), so `author: {}` means "any author object".
  buildSubscribeUpdateSelector: (stream, room, requestId) => ({
    stream,
    payload: { request_id: requestId, response_status: 200, data: { room, author: {} } },
  }),
  // Deleted messages arrive as {pk, room}; pkField "id" makes the callback see {id, room}.
  buildSubscribeDeleteSelector: (stream, room, requestId) => ({
    stream,
    payload: { request_id: requestId, response_status: 200, action: "delete", data: { room } },
  }),
};

async function roomCrud(alice) {
  const name = `dcrf-${process.pid}`;
  const room = await ask("alice", "create rooms", alice.create("rooms", { name, title: "Old" }));
  assert.equal(room.name, name);
  assert.equal(room.title, "Old");
  assert.ok(Number.isInteger(room.id), `room id: ${JSON.stringify(room)}`);

  const rooms = await ask("alice", "list rooms", alice.list("rooms"));
  assert.ok(
    rooms.some((r) => r.id === room.id),
    `list rooms lacks ${room.id}: ${JSON.stringify(rooms)}`,
  );

  const again = await ask("alice", "retrieve room", alice.retrieve("rooms", room.id));
  assert.deepEqual(again, room);
  report("room_crud", { room: room.id, listed: rooms.length });
  return room;
}

async function roomInstanceSubscription(alice, room) {
  const inbox = new Inbox("alice's room subscription");
  await ask("alice", "subscribe to the room", alice.subscribe("rooms", room.id, inbox.callback));

  const patched = await ask("alice", "patch room", alice.patch("rooms", room.id, { title: "New" }));
  assert.equal(patched.title, "New");
  const update = await inbox.waitFor(
    'an update with title "New"',
    (e) => e.action === "update" && e.data.title === "New",
  );
  assert.equal(update.data.id, room.id);
  report("room_update_pushed", { action: update.action, title: update.data.title });
  return inbox;
}

async function roomMessagesPushed(alice, bob, bobMessages, room) {
  await ask("bob", "join room", bob.request("rooms", { action: "join", pk: room.id }));
  const inbox = new Inbox("bob's messages subscription");
  await ask(
    "bob",
    "subscribe to the room's messages",
    bobMessages.subscribe("messages", room.id, inbox.callback),
  );
  assert.deepEqual(inbox.events, [], "the subscribe ack must not reach the callback");

  const sent = await ask(
    "alice",
    "create message",
    alice.create("messages", { room: room.id, body: "hello" }),
  );
  const push = await inbox.waitFor(
    `the creation of message ${sent.id}`,
    (e) => e.action === "create" && e.data.id === sent.id,
  );
  assert.equal(push.data.body, "hello");
  assert.equal(push.data.room, room.id);
  report("message_create_pushed", { action: push.action, body: push.data.body });
  return { inbox, sent };
}

async function messageHistory(bob, room, sent) {
  // dcrf-client nests list arguments under `data`; Parley reads them from there too.
  const page = await ask("bob", "list messages", bob.list("messages", { room: room.id }));
  assert.deepEqual(
    page.map((m) => [m.id, m.body]),
    [[sent.id, "hello"]],
  );
  report("message_listed", { count: page.length });
}

async function messageDeletePushed(alice, inbox, sent) {
  await ask("alice", "delete message", alice.delete("messages", sent.id));
  const push = await inbox.waitFor(
    `the deletion of message ${sent.id}`,
    (e) => e.action === "delete" && e.data.id === sent.id,
  );
  report("message_delete_pushed", { action: push.action, id: push.data.id });
}

async function roomDeletePushed(alice, inbox, room) {
  await ask("alice", "delete room", alice.delete("rooms", room.id));
  const push = await inbox.waitFor(
    `the deletion of room ${room.id}`,
    (e) => e.action === "delete" && e.data.id === room.id,
  );
  report("room_delete_pushed", { action: push.action, id: push.data.id });
}

async function main() {
  const watchdog = setTimeout(() => fail(`not finished within ${SCENARIO_MS} ms`), SCENARIO_MS);
  // Parley's rooms are keyed `id`; pushes of deletions carry {"pk": id}, which 0.3.0 matches.
  const alice = await connect("alice", requiredEnv("ALICE_TOKEN"), { pkField: "id" });
  const bob = await connect("bob", requiredEnv("BOB_TOKEN"), { pkField: "id" });
  // dcrf-client's subscribe options are per client: messages of a room need a client of their own.
  const bobMessages = await connect(
    "bob (messages)",
    requiredEnv("BOB_TOKEN"),
    roomMessagesSubscription,
  );

  const room = await roomCrud(alice);
  const roomInbox = await roomInstanceSubscription(alice, room);
  const { inbox: messagesInbox, sent } = await roomMessagesPushed(alice, bob, bobMessages, room);
  await messageHistory(bob, room, sent);
  await messageDeletePushed(alice, messagesInbox, sent);
  await roomDeletePushed(alice, roomInbox, room);

  await disconnect("bob (messages)", bobMessages);
  await disconnect("bob", bob);
  await disconnect("alice", alice);
  clearTimeout(watchdog);
  report("closed", {});
}

main().catch((error) => fail(error instanceof Error ? error.stack : JSON.stringify(error)));
