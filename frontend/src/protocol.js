/**
 * Parley's socket protocol as this app speaks it (docs/protocol.md has the frames): the streams
 * and the actions it sends, and one small function per use, grouped by stream. Views and stores
 * go through `app.api`; only this module names a stream or an action (test/protocol.test.js
 * holds the app to that, and tests/test_frontend_protocol.py checks each action against the
 * server's consumer for its stream).
 */

/**
 * The frames' types are in ../protocol.d.ts, generated from the server's consumers (`python
 * manage.py asyncapi --typescript frontend/protocol.d.ts`): each function below takes and
 * resolves with what the server's action does, so `npx tsc` (make lint) fails when a protocol
 * change breaks the app.
 * @typedef {import("../protocol").StreamName} StreamName
 * @typedef {import("../protocol").RequestId} RequestId
 * @typedef {{requestId: RequestId, cancel: () => void}} Subscription
 */

// Every stream the app uses, and every action it sends on each. A subscribe_* action's
// unsubscribe_* twin is sent by the cancel() of Connection.subscribe. Keep this literal JSON
// (double quotes, no trailing comma): tests/test_frontend_protocol.py reads it.
export const STREAMS = deepFreeze({
  "rooms": ["list", "retrieve", "create", "join", "leave", "invite", "members", "subscribe_rooms"],
  "messages": ["list", "create", "patch", "delete", "subscribe_room"],
  "presence": ["list", "typing", "subscribe_room"],
  "calls": [
    "list", "create", "accept", "reject", "hangup", "media", "ice_servers", "dashboard", "figures",
    "subscribe_calls", "subscribe_dashboard", "subscribe_figures"
  ],
  "sdp": ["list", "create", "subscribe_call"],
  "ice": ["list", "create", "subscribe_call"],
  "quality": ["list", "create", "latest", "subscribe_call", "subscribe_dashboard"]
});

function deepFreeze(streams) {
  Object.values(streams).forEach(Object.freeze);
  return Object.freeze(streams);
}

// The most a paged action (the rooms list, a room's members) answers at once.
export const PAGE_LIMIT = 100;

/**
 * Every item of a paged list: ask `fetchPage(after)` for the page after the last id held, until
 * a page comes back short. Ids only grow, so nothing added meanwhile is skipped or repeated.
 * @template {{id: number}} T
 * @param {(after: number | null, limit: number) => Promise<T[]>} fetchPage
 * @returns {Promise<T[]>}
 */
export async function allPages(fetchPage, limit = PAGE_LIMIT) {
  const items = [];
  for (let after = null; ; ) {
    const page = await fetchPage(after, limit);
    items.push(...page);
    if (page.length < limit) return items;
    after = page[page.length - 1].id;
  }
}

/**
 * One stream over a Connection: each request and subscription checks its action is in STREAMS.
 * @template {StreamName} S
 */
class StreamApi {
  /**
   * @param {any} connection
   * @param {S} stream
   */
  constructor(connection, stream) {
    this.connection = connection;
    this.stream = stream;
  }

  /**
   * @template {string} A
   * @param {A} action
   * @returns {A}
   */
  checked(action) {
    if (!STREAMS[this.stream].includes(action)) {
      throw new Error(`"${action}" is not an action of the ${this.stream} stream in STREAMS.`);
    }
    return action;
  }

  /**
   * One request; resolves with the reply's data, rejects with an Error.
   * @template {import("../protocol").ActionName<S>} A
   * @param {A} action
   * @param {import("../protocol").Arguments<S, A>} [args]
   * @returns {Promise<import("../protocol").ReplyData<S, A>>}
   */
  send(action, args = /** @type {any} */ ({})) {
    return this.connection.request(this.stream, { action: this.checked(action), .../** @type {object} */ (args) });
  }

  /**
   * Every page of a paged action, read by id cursor.
   * @template {import("../protocol").ActionName<S>} A
   * @param {A} action
   * @param {Omit<import("../protocol").Arguments<S, A>, "after" | "limit">} [args]
   * @returns {Promise<import("../protocol").ReplyData<S, A>>}
   */
  sendPaged(action, args = /** @type {any} */ ({})) {
    /** @type {any} */
    const read = (after, limit) => this.send(action, /** @type {any} */ ({ ...args, limit, ...(after === null ? {} : { after }) }));
    return /** @type {any} */ (allPages(read));
  }

  /**
   * `onPush(data, action)` for every push; resolves with `{requestId, cancel()}`.
   * @template {import("../protocol").SubscriptionName<S> & import("../protocol").ActionName<S>} A
   * @param {A} action
   * @param {import("../protocol").Arguments<S, A>} args
   * @param {import("../protocol").OnPush<S, A>} onPush
   * @returns {Promise<Subscription>}
   */
  follow(action, args, onPush) {
    return this.connection.subscribe(this.stream, { action: this.checked(action), .../** @type {object} */ (args) }, onPush);
  }
}

/**
 * Rooms I can see, and my membership of them.
 * @extends {StreamApi<"rooms">}
 */
class RoomsApi extends StreamApi {
  /** All of them, every page. */
  list() { return this.sendPaged("list"); }

  /** @param {number} pk */
  retrieve(pk) { return this.send("retrieve", { pk }); }

  /** @param {{name: string, title: string, isPrivate: boolean}} room */
  create({ name, title, isPrivate }) { return this.send("create", { data: { name, title, is_private: isPrivate } }); }

  /** @param {number} pk */
  join(pk) { return this.send("join", { pk }); }

  /** @param {number} pk */
  leave(pk) { return this.send("leave", { pk }); }

  /**
   * Owner of a private room: make `user` (an id) a member.
   * @param {number} pk
   * @param {number} user
   */
  invite(pk, user) { return this.send("invite", { pk, user }); }

  /**
   * A room's memberships, every page.
   * @param {number} pk
   */
  members(pk) { return this.sendPaged("members", { pk }); }

  /**
   * The lobby: rooms created, changed or deleted (or lost from sight).
   * @param {import("../protocol").OnPush<"rooms", "subscribe_rooms">} onPush
   */
  subscribe(onPush) { return this.follow("subscribe_rooms", {}, onPush); }
}

/**
 * A room's messages.
 * @extends {StreamApi<"messages">}
 */
class MessagesApi extends StreamApi {
  /**
   * A page of `room`'s messages: the latest, or those `after` / `before` an id.
   * @param {import("../protocol").MessagePageRequest} page
   */
  list({ room, after, before, limit }) { return this.send("list", { room, after, before, limit }); }

  /**
   * Post; the same `clientId` sent again is never stored twice.
   * @param {{room: number, body: string, clientId?: string}} message
   */
  create({ room, body, clientId }) { return this.send("create", { data: { room, body, client_id: clientId } }); }

  /**
   * @param {number} pk
   * @param {{body: string}} change
   */
  patch(pk, { body }) { return this.send("patch", { pk, data: { body } }); }

  /** @param {number} pk */
  delete(pk) { return this.send("delete", { pk }); }

  /**
   * New, edited and deleted messages of a room; `revoked` when I lose it.
   * @param {number} room
   * @param {import("../protocol").OnPush<"messages", "subscribe_room">} onPush
   */
  subscribeRoom(room, onPush) { return this.follow("subscribe_room", { room }, onPush); }
}

/**
 * Who is online in a room, and who is typing.
 * @extends {StreamApi<"presence">}
 */
class PresenceApi extends StreamApi {
  /**
   * The members online now.
   * @param {number} room
   */
  list(room) { return this.send("list", { room }); }

  /** @param {number} room */
  typing(room) { return this.send("typing", { room }); }

  /**
   * Members coming online (create), going offline (delete), typing (update).
   * @param {number} room
   * @param {import("../protocol").OnPush<"presence", "subscribe_room">} onPush
   */
  subscribeRoom(room, onPush) { return this.follow("subscribe_room", { room }, onPush); }
}

/**
 * My calls, and the staff dashboard of everyone's.
 * @extends {StreamApi<"calls">}
 */
class CallsApi extends StreamApi {
  /** My latest calls. */
  list() { return this.send("list"); }

  /**
   * Ring `callee` (an id), met in `room`.
   * @param {import("../protocol").CallCreateRequest} call
   */
  create({ callee, room }) { return this.send("create", { data: { callee, room } }); }

  /** @param {number} pk */
  accept(pk) { return this.send("accept", { pk }); }

  /** @param {number} pk */
  reject(pk) { return this.send("reject", { pk }); }

  /**
   * End the call (before an answer: cancel or decline it).
   * @param {number} pk
   */
  hangup(pk) { return this.send("hangup", { pk }); }

  /**
   * Media `state` "connected", or "failed" with the `reason`.
   * @param {number} pk
   * @param {import("../protocol").CallMediaRequest} report
   */
  media(pk, { state, reason }) { return this.send("media", { pk, state, reason }); }

  /** `{ice_servers: [...]}` for an RTCPeerConnection. */
  iceServers() { return this.send("ice_servers"); }

  /**
   * Every state change of my calls, on all my tabs.
   * @param {import("../protocol").OnPush<"calls", "subscribe_calls">} onPush
   */
  subscribe(onPush) { return this.follow("subscribe_calls", {}, onPush); }

  /** Staff: calls not yet ended and the recent ones. */
  dashboard() { return this.send("dashboard"); }

  /** Staff: today's figures. */
  figures() { return this.send("figures"); }

  /**
   * Staff: every call's state changes.
   * @param {import("../protocol").OnPush<"calls", "subscribe_dashboard">} onPush
   */
  subscribeDashboard(onPush) { return this.follow("subscribe_dashboard", {}, onPush); }

  /**
   * Staff: today's figures at once, then again as calls change (at most once a second).
   * @param {import("../protocol").OnPush<"calls", "subscribe_figures">} onPush
   */
  subscribeFigures(onPush) { return this.follow("subscribe_figures", {}, onPush); }
}

/**
 * What the parties of a call measure of its media (getStats samples).
 * @extends {StreamApi<"quality">}
 */
class QualityApi extends StreamApi {
  /**
   * Report my sample of `call`; resolves with it stored and rated.
   * @param {number} call
   * @param {import("../protocol").QualitySampleRequest} sample
   */
  create(call, sample) { return this.send("create", { data: { call, ...sample } }); }

  /**
   * The call's samples from both parties, oldest first (only the `last` few if given).
   * @param {number} call
   * @param {number} [last]
   */
  list(call, last) { return this.send("list", last ? { call, last } : { call }); }

  /** Staff: each party's latest sample of every call in progress. */
  latest() { return this.send("latest"); }

  /**
   * The other party's samples as they come.
   * @param {number} call
   * @param {import("../protocol").OnPush<"quality", "subscribe_call">} onPush
   */
  subscribeCall(call, onPush) { return this.follow("subscribe_call", { call }, onPush); }

  /**
   * Staff: every call's samples.
   * @param {import("../protocol").OnPush<"quality", "subscribe_dashboard">} onPush
   */
  subscribeDashboard(onPush) { return this.follow("subscribe_dashboard", {}, onPush); }
}

/**
 * A call's session descriptions (the sdp stream) or candidates (the ice stream).
 * @template {"sdp" | "ice"} S
 * @extends {StreamApi<S>}
 */
class SignalsApi extends StreamApi {
  // (Within the class, `S` is not known yet: the arguments are cast, the parameters typed.)

  /**
   * Send one row (`data` has the call and the description or candidate).
   * @param {import("../protocol").WriteData<S, "create">} data
   */
  create(data) { return this.send("create", /** @type {any} */ ({ data })); }

  /**
   * Every row of the call sent so far, in order.
   * @param {number} call
   */
  list(call) { return this.send("list", /** @type {any} */ ({ call })); }

  /**
   * The other party's rows as they are sent.
   * @param {number} call
   * @param {import("../protocol").OnPush<S, "subscribe_call">} onPush
   */
  subscribeCall(call, onPush) { return this.follow("subscribe_call", /** @type {any} */ ({ call }), onPush); }
}

/** The whole protocol over one Connection: `api.rooms.join(pk)`, `api.calls.accept(pk)`, … */
export class Api {
  constructor(connection) {
    this.connection = connection;
    this.rooms = new RoomsApi(connection, "rooms");
    this.messages = new MessagesApi(connection, "messages");
    this.presence = new PresenceApi(connection, "presence");
    this.calls = new CallsApi(connection, "calls");
    this.sdp = new SignalsApi(connection, "sdp");
    this.ice = new SignalsApi(connection, "ice");
    this.quality = new QualityApi(connection, "quality");
  }
}
