/**
 * Parley from Node on the unmodified npm dcrf-client 0.3.0: sign in as a guest, create a room,
 * follow its messages, post one and receive its push; then lose the socket, miss a message,
 * reconnect and catch up as docs/protocol.md ("Reconnecting and catching up") says.
 *
 *   cd examples/node && npm ci && node chat.mjs
 *
 * PARLEY_URL says where Parley is (default http://127.0.0.1:8000). Prints a plain line per
 * step; exits 0 when every step worked, 1 with the reason on stderr otherwise.
 */
// --- protocol.md: dcrf-client-setup ---
import { randomUUID } from "node:crypto";

import dcrfClient from "dcrf-client";
import WebSocket from "ws";

// dcrf-client is compiled TypeScript published as CommonJS: connect() is on its default export.
const dcrf = dcrfClient.default;
const PARLEY_URL = (process.env.PARLEY_URL || "http://127.0.0.1:8000").replace(/\/+$/, "");
const WS_URL = `${PARLEY_URL.replace(/^http/, "ws")}/ws/`;
const PAGE = 50; // messages per `list` page: a full page means there may be more
// --- end of protocol.md: dcrf-client-setup ---
const DEADLINE_MS = 20_000;

let lastStep = "starting";

function say(line) {
  lastStep = line;
  console.log(line);
}

function fail(reason) {
  console.error(`chat.mjs failed: ${reason}`);
  process.exit(1);
}

/** dcrf-client rejects a refused request with the reply's payload, not an Error. */
function describe(error) {
  return error instanceof Error ? error.message : `Parley answered ${JSON.stringify(error)}`;
}

/** POST JSON to Parley's REST API, as the token's user if one is given; the decoded answer. */
async function post(path, body, token) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Token ${token}`;
  let response;
  try {
    response = await fetch(PARLEY_URL + path, {
      method: "POST",
      headers,
      body: JSON.stringify(body),
    });
  } catch (error) {
    const why = error.cause?.code || error.message;
    throw new Error(`cannot reach Parley at ${PARLEY_URL} (${why}): is it running (make run)?`);
  }
  const text = await response.text();
  if (!response.ok) throw new Error(`POST ${path} answered ${response.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

// --- protocol.md: dcrf-client-options ---
// One client carries every subscription: subscribe(stream, spec, callback) sends the spec
// ({action: "subscribe_room", room: 5}) with a request id, which Parley echoes in every push.
const subscriptionOptions = {
  pkField: "id", // Parley objects are keyed `id`; delete pushes come as {"pk": id}
  buildSubscribePayload: (spec, requestId) => ({ ...spec, request_id: requestId }),
  // Pushes have status 200; the subscribe reply (201) only resolves subscribe()'s promise.
  buildSubscribeUpdateSelector: (stream, spec, requestId) => ({
    stream,
    payload: { request_id: requestId, response_status: 200 },
  }),
  // dcrf-client's second listener: Parley ends a subscription with `revoked` (room left, lost).
  buildSubscribeDeleteSelector: (stream, spec, requestId) => ({
    stream,
    payload: { request_id: requestId, action: "revoked" },
  }),
};
// --- end of protocol.md: dcrf-client-options ---

/** The messages seen, each once, and a way to wait for one to arrive. */
class Messages {
  constructor() {
    this.byId = new Map();
    this.waiting = new Map();
  }

  get lastId() {
    return Math.max(0, ...this.byId.keys());
  }

  /** Keep a message; one that arrives twice (pushed and listed) is kept and shown once. */
  keep(message, how) {
    if (this.byId.has(message.id)) return;
    this.byId.set(message.id, message);
    const { id, author, body } = message;
    say(`${how}: message ${id} by ${author.display_name}: ${JSON.stringify(body)}`);
    this.waiting.get(id)?.();
  }

  arrival(id) {
    if (this.byId.has(id)) return Promise.resolve();
    return new Promise((resolve) => this.waiting.set(id, resolve));
  }
}

/** Resolves once the client's socket is open again (dcrf-client has re-sent its subscribes). */
function reconnected(client) {
  return new Promise((resolve) => client.transport.once("reconnect", resolve));
}

/**
 * Close the socket, as a network drop would. After a real drop reconnecting-websocket opens a
 * new socket by itself, after a delay; after close() it waits for reconnect().
 */
async function dropSocket(client) {
  const socket = client.transport.socket;
  const closed = new Promise((resolve) => socket.addEventListener("close", resolve));
  socket.close();
  await closed;
  say("socket closed");
}

/** Bob, a second guest, joins the room over REST (he needs no socket). */
async function bobJoins(room) {
  const bob = await post("/api/auth/guest/", { display_name: "Bob" });
  await post(`/api/rooms/${room.id}/join/`, {}, bob.token);
  return bob;
}

/** Bob posts over REST; it is pushed to the room's sockets like a message posted on one. */
function bobPosts(bob, room, body) {
  return post("/api/messages/", { room: room.id, body }, bob.token);
}

async function main() {
  const ada = await post("/api/auth/guest/", { display_name: "Ada" });
  say(`signed in as ${ada.user.display_name} (${ada.user.username})`);
  const messages = new Messages();

  // --- protocol.md: dcrf-client ---
  const client = dcrf.connect(`${WS_URL}?token=${ada.token}`, {
    websocket: { WebSocket }, // Node needs the ws package; browsers have WebSocket (and the cookie)
    ...subscriptionOptions,
  });
  // A token Parley does not accept closes the socket with 4401: retrying will not help.
  client.transport.socket.addEventListener("close", (event) => {
    if (event.code === 4401) fail("Parley refused the token (close code 4401)");
  });
  const name = `hello-${randomUUID().slice(0, 8)}`;
  const room = await client.create("rooms", { name, title: "Hello" });
  say(`created room ${room.name} (id ${room.id})`);
  const spec = { action: "subscribe_room", room: room.id };
  await client.subscribe("messages", spec, (data, action) =>
    action === "create" ? messages.keep(data, "pushed") : say(`${action}: ${JSON.stringify(data)}`),
  );
  say("subscribed to its messages");
  // A client_id makes a retry after a lost reply safe: Parley answers with the first message.
  const body = "Hello from Node";
  const sent = await client.create("messages", { room: room.id, body, client_id: randomUUID() });

  // After a drop dcrf-client reconnects and re-sends its subscribe requests by itself, but what
  // was pushed while the socket was down is gone: list it, after the last message seen.
  async function catchUp() {
    for (;;) {
      const args = { room: room.id, after: messages.lastId, limit: PAGE };
      const page = await client.list("messages", args);
      page.forEach((message) => messages.keep(message, "caught up"));
      if (page.length < PAGE) return;
    }
  }
  client.transport.on("reconnect", () => catchUp().catch((error) => fail(describe(error))));
  // --- end of protocol.md: dcrf-client ---
  await messages.arrival(sent.id);

  await dropSocket(client);
  const bob = await bobJoins(room);
  const missed = await bobPosts(bob, room, "Ada, did you miss this?");
  say(`Bob posted message ${missed.id} over REST while Ada was away`);
  client.transport.socket.reconnect();
  await reconnected(client);
  say("reconnected: dcrf-client re-sent the subscribe request");
  await messages.arrival(missed.id);
  // The subscription is live again: Bob's next message is pushed.
  const after = await bobPosts(bob, room, "Welcome back");
  await messages.arrival(after.id);

  client.close();
  say(`done: ${messages.byId.size} messages, each shown once`);
}

const watchdog = setTimeout(
  () => fail(`not done within ${DEADLINE_MS / 1000} s; the last step done: ${lastStep}`),
  DEADLINE_MS,
);
main()
  .then(() => clearTimeout(watchdog))
  .catch((error) => fail(describe(error)));
