/**
 * Live collections shared by the views: the rooms I can see (the lobby subscription) and, for
 * staff, every call (the dashboard subscription). Each keeps itself current across reconnects.
 */

import { laterCall } from "./words.js";

// Not less than the server's TODAY_EVERY_SECONDS (calls/figures.py): figures fetched this long
// after a change were computed after it.
const FIGURES_EVERY_MS = 1000;

/** Keep each call once, in the later of the states seen (snapshot and pushes in any order). */
export function mergeCalls(items, calls) {
  for (const call of calls) items.set(call.id, laterCall(items.get(call.id), call));
  return items;
}

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
  constructor(api) {
    super();
    this.api = api;
    this.loaded = false;
  }

  async start() {
    // Subscribe first, then list: a room created in between is in one or the other.
    this.subscription = await this.api.rooms.subscribe((room, action) => this.apply(room, action));
    this.api.connection.on("reconnect", () => this.refresh().catch(() => {}));
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
    const rooms = await this.api.rooms.list();
    this.items = new Map(rooms.map((room) => [room.id, room]));
    this.loaded = true;
    this.changed();
  }

  get rooms() {
    return [...this.items.values()].sort((a, b) => a.id - b.id);
  }
}

/**
 * Staff only: every call not yet ended and the recent ones (the `dashboard` snapshot), then
 * every change (the dashboard subscription). Subscribed before the snapshot is fetched, so a
 * change in between is in the snapshot, in a push, or both: each call is kept once, in its
 * later state. After a reconnect the snapshot is fetched again.
 */
export class DashboardStore extends Store {
  constructor(api) {
    super();
    this.api = api;
    this.allowed = null;
    this.loaded = false;
  }

  /** Subscribe if the server lets us (staff), then load the snapshot; resolves to whether it did. */
  async start() {
    try {
      this.subscription = await this.api.calls.subscribeDashboard((call) => this.apply(call));
      this.allowed = true;
    } catch (error) {
      if (error.status !== 403) throw error;
      this.allowed = false;
    }
    this.changed();
    if (this.allowed) {
      this.api.connection.on("reconnect", () => this.load().catch(() => {}));
      await this.load();
    }
    return this.allowed;
  }

  async load() {
    const [calls, figures] = await Promise.all([
      this.api.calls.dashboard(),
      this.api.calls.figures(),
    ]);
    mergeCalls(this.items, calls);
    this.figures = figures;
    this.loaded = true;
    this.changed();
  }

  apply(call) {
    if (!call || !call.id) return;
    mergeCalls(this.items, [call]);
    this.changed();
    this.refreshFigures();
  }

  /** The figures again after calls change: at most once a second, however many change. */
  refreshFigures() {
    if (this.figuresDue) return;
    this.figuresDue = setTimeout(() => {
      this.figuresDue = null;
      this.api.calls.figures()
        .then((figures) => { this.figures = figures; this.changed(); })
        .catch(() => {});
    }, FIGURES_EVERY_MS);
  }

  /** Newest first. */
  get calls() {
    return [...this.items.values()].sort((a, b) => b.id - a.id);
  }
}
