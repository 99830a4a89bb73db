/**
 * Our thin layer over dcrf-client 0.3.0: one socket per tab, signed in by the session cookie.
 *
 * dcrf-client does the protocol, the reconnecting (reconnecting-websocket, with backoff) and the
 * re-sending of subscribe requests after a reconnect. This layer adds what the app needs on top:
 * a connection status for the banner, a "reconnected" event (to catch up on what was missed),
 * time limits on requests, errors as Error objects, and subscriptions that also stop the
 * server's pushes when cancelled.
 */

import dcrfPackage from "dcrf-client";

import { newClientId } from "./messages.js";
import { subscriptionOptions, unsubscribePayload } from "./subscriptions.js";
import { errorText } from "./words.js";

// Passed to reconnecting-websocket: retry after 0.5 s, then 1.6× longer each time, at most 8 s.
export const RECONNECT_OPTIONS = {
  minReconnectionDelay: 500,
  maxReconnectionDelay: 8000,
  reconnectionDelayGrowFactor: 1.6,
  connectionTimeout: 4000,
  // The retry count (so the backoff) resets once a socket has stayed open this long.
  minUptime: 3000,
};
const REQUEST_TIMEOUT_MS = 15000;
// dcrf-client is compiled TypeScript (CommonJS): `connect` is on `exports.default`, which an ES
// module's default import reaches with Node's interop (our package is "type": "module").
const dcrf = dcrfPackage.default ?? dcrfPackage;
// Parley accepts, then closes with this code, a socket whose session is not signed in.
const CLOSE_UNAUTHENTICATED = 4401;

/** A request the server refused: ``status`` is its response_status. */
export class RequestError extends Error {
  constructor(reply) {
    super(errorText(reply && reply.errors, `The server answered ${reply && reply.response_status}.`));
    this.status = reply && reply.response_status;
    this.reply = reply;
  }
}

export function socketUrl(location = window.location) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/ws/`;
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`No answer from the server (${what}).`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function asError(reason) {
  return reason instanceof Error ? reason : new RequestError(reason);
}

export class Connection {
  constructor(url = socketUrl()) {
    this.handlers = { status: new Set(), reconnect: new Set(), signedout: new Set() };
    this.status = "connecting";
    this.closing = false;
    this.client = dcrf.connect(url, { ...subscriptionOptions, websocket: RECONNECT_OPTIONS });
    const socket = this.client.transport.socket;
    socket.addEventListener("open", () => this.setStatus("connected"));
    socket.addEventListener("close", (event) => this.onClose(event));
    // Registered after dcrf-client's own listener, which has re-sent the subscribe requests
    // by the time ours runs: a fetch made now cannot miss anything between the two.
    this.client.transport.on("reconnect", () => this.emit("reconnect"));
  }

  on(event, handler) {
    this.handlers[event].add(handler);
    return () => this.handlers[event].delete(handler);
  }

  emit(event, ...args) {
    for (const handler of [...this.handlers[event]]) {
      try {
        handler(...args);
      } catch (error) {
        console.error(`parley: ${event} handler failed`, error);
      }
    }
  }

  setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    this.emit("status", status);
  }

  onClose(event) {
    if (this.closing) return;
    if (event.code === CLOSE_UNAUTHENTICATED) {
      this.close();
      this.emit("signedout");
      return;
    }
    this.setStatus("reconnecting");
  }

  /** Close for good (signing out): no reconnect. */
  close() {
    this.closing = true;
    this.client.close();
    this.setStatus("closed");
  }

  /** Any action; resolves with the reply's data, rejects with an Error. */
  async request(stream, payload, timeoutMs = REQUEST_TIMEOUT_MS) {
    try {
      return await withTimeout(this.client.request(stream, payload), timeoutMs, `${stream} ${payload.action}`);
    } catch (reason) {
      throw asError(reason);
    }
  }

  /**
   * Subscribe with ``spec`` (e.g. ``{action: "subscribe_room", room: 5}``); ``onPush(data,
   * action)`` gets every push (create, update, delete — deletes as ``{id}``) and ``revoked``.
   * Resolves once the server confirmed, with ``{requestId, cancel()}``.
   */
  async subscribe(stream, spec, onPush) {
    const requestId = newClientId();
    const guarded = (data, action) => {
      try {
        onPush(data, action);
      } catch (error) {
        console.error(`parley: ${stream} push handler failed`, error);
      }
    };
    const subscription = this.client.subscribe(stream, spec, guarded, requestId);
    try {
      await withTimeout(subscription, REQUEST_TIMEOUT_MS, `${stream} ${spec.action}`);
    } catch (reason) {
      subscription.cancel();
      throw asError(reason);
    }
    return {
      requestId,
      cancel: () => {
        // dcrf-client only drops its listeners (and stops re-sending the subscribe request on
        // reconnect); the server stops pushing on an unsubscribe with the same request_id.
        subscription.cancel();
        this.client.request(stream, unsubscribePayload(spec), requestId).catch(() => {});
      },
    };
  }
}
