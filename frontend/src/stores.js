/**
 * Live collections shared by the views: the rooms I can see (the lobby subscription) and, for
 * staff, every call (the dashboard subscription). Each keeps itself current across reconnects.
 */

import { laterCall } from "./words.js";

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
  /** @param {import("./protocol.js").Api} api */
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

// A chart keeps no more samples than the server does (PARLEY_QUALITY_SAMPLES_KEPT's default).
const SERIES_KEPT = 720;

/** Keep each sample once, in id order (a snapshot and pushes may both carry it). */
export function mergeSamples(samples, more) {
  const byId = new Map(samples.map((sample) => [sample.id, sample]));
  for (const sample of more) byId.set(sample.id, sample);
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

/**
 * Staff only: every call not yet ended and the recent ones (the `dashboard` snapshot), then
 * every change (the dashboard subscription). Subscribed before the snapshot is fetched, so a
 * change in between is in the snapshot, in a push, or both: each call is kept once, in its
 * later state. After a reconnect the snapshot is fetched again.
 *
 * Also the figures (pushed by the server as calls change) and the calls' quality: the latest
 * sample of each party, and the whole series of the calls whose detail is open.
 */
export class DashboardStore extends Store {
  /** @param {import("./protocol.js").Api} api */
  constructor(api) {
    super();
    this.api = api;
    this.allowed = null;
    this.loaded = false;
    this.figures = null;
    this.watching = null; // the figures and quality subscriptions, while the dashboard is open
    this.latest = new Map(); // call id -> Map(sender id -> latest sample)
    this.series = new Map(); // call id -> samples, oldest first (calls whose detail is open)
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

  /**
   * The dashboard is on screen: follow the figures (the server pushes them at once, then after
   * every change) and every call's quality. Other pages of a staff tab need neither.
   */
  async open() {
    if (!this.allowed || this.watching) return;
    this.watching = [];
    const watching = this.watching;
    watching.push(
      await this.api.calls.subscribeFigures((figures) => {
        this.figures = figures;
        this.changed();
      }),
      await this.api.quality.subscribeDashboard((sample) => this.sampled([sample])),
    );
    if (this.watching !== watching) watching.forEach((subscription) => subscription.cancel());
    else await this.loadQuality();
  }

  close() {
    (this.watching ?? []).forEach((subscription) => subscription.cancel?.());
    this.watching = null;
    this.series.clear();
  }

  async load() {
    mergeCalls(this.items, await this.api.calls.dashboard());
    this.loaded = true;
    // Quality of calls no longer listed is not kept.
    for (const id of this.latest.keys()) if (!this.items.has(id)) this.latest.delete(id);
    if (this.watching) await this.loadQuality();
    this.changed();
  }

  /** Each party's latest sample of the calls in progress, and the series of open details. */
  async loadQuality() {
    const [latest, ...open] = await Promise.all([
      this.api.quality.latest(),
      ...[...this.series.keys()].map((id) => this.api.quality.list(id)),
    ]);
    this.sampled([...latest, ...open.flat()]);
  }

  apply(call) {
    if (!call || !call.id) return;
    mergeCalls(this.items, [call]);
    this.changed();
  }

  sampled(samples) {
    const byCall = new Map();
    for (const sample of samples) {
      const parties = this.latest.get(sample.call) ?? new Map();
      const known = parties.get(sample.sender);
      if (!known || known.id < sample.id) parties.set(sample.sender, sample);
      this.latest.set(sample.call, parties);
      if (this.series.has(sample.call)) byCall.set(sample.call, [...(byCall.get(sample.call) ?? []), sample]);
    }
    for (const [id, more] of byCall) this.series.set(id, mergeSamples(this.series.get(id), more).slice(-SERIES_KEPT));
    this.changed();
  }

  /** Each party's latest sample of the call (none before its first report). */
  quality(callId) {
    return this.latest.get(callId) ?? new Map();
  }

  /** Keep the whole series of this call's samples (for its chart): fetched, then pushed. */
  async follow(callId) {
    if (this.series.has(callId)) return;
    this.series.set(callId, []);
    this.sampled(await this.api.quality.list(callId));
  }

  unfollow(callId) {
    this.series.delete(callId);
  }

  /** Newest first. */
  get calls() {
    return [...this.items.values()].sort((a, b) => b.id - a.id);
  }
}
