/**
 * Live collections shared by the views: the rooms I can see (the lobby subscription) and, for
 * staff, every call (the dashboard subscription). Each keeps itself current across reconnects.
 */

import { laterCall } from "./words.js";

class Store {
  constructor() {
    this.items = new Map();
    this.listeners = new Set();
  }

  /** ``listener(store)`` after every change; returns the function that stops it. */
  watch(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  changed() {
    for (const listener of [...this.listeners]) listener(this);
  }

  get(id) {
    return this.items.get(id);
  }
}

/** The lobby: public rooms and my private rooms, live. */
export class RoomsStore extends Store {
  constructor(connection) {
    super();
    this.connection = connection;
    this.loaded = false;
  }

  async start() {
    // Subscribe first, then list: a room created in between is in one or the other.
    this.subscription = await this.connection.subscribe(
      "rooms", { action: "subscribe_rooms" }, (room, action) => this.apply(room, action),
    );
    this.connection.on("reconnect", () => this.refresh().catch(() => {}));
    await this.refresh();
  }

  apply(room, action) {
    if (action === "delete") this.items.delete(room.id);
    else if (action === "create" || action === "update") this.items.set(room.id, room);
    else return;
    this.changed();
  }

  /** The full list replaces what we had: rooms deleted while we were away disappear too. */
  async refresh() {
    const rooms = await this.connection.all("rooms", "list");
    this.items = new Map(rooms.map((room) => [room.id, room]));
    this.loaded = true;
    this.changed();
  }

  get rooms() {
    return [...this.items.values()].sort((a, b) => a.id - b.id);
  }
}

/** Staff only: state changes of every call, since this tab subscribed. */
export class DashboardStore extends Store {
  constructor(connection) {
    super();
    this.connection = connection;
    this.allowed = null;
    this.since = new Date();
  }

  /** Subscribe if the server lets us (staff); resolves to whether it did. */
  async start() {
    try {
      this.subscription = await this.connection.subscribe(
        "calls", { action: "subscribe_dashboard" }, (call) => this.apply(call),
      );
      this.allowed = true;
    } catch (error) {
      if (error.status !== 403) throw error;
      this.allowed = false;
    }
    this.changed();
    return this.allowed;
  }

  apply(call) {
    if (!call || !call.id) return;
    this.items.set(call.id, laterCall(this.items.get(call.id), call));
    this.changed();
  }

  /** Newest first. */
  get calls() {
    return [...this.items.values()].sort((a, b) => b.id - a.id);
  }
}
