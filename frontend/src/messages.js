/**
 * A room's messages as the page knows them: one entry per id, oldest first, whatever order
 * history pages, catch-up pages, replies and pushes arrive in.
 *
 * Pure (no DOM, no socket) so node's test runner covers it.
 */

/** ISO timestamps compare as strings; a message never edited counts as oldest. */
function editedKey(message) {
  return message.edited_at || "";
}

export class MessageLog {
  constructor() {
    this.byId = new Map();
    // Ids deleted while we watched: a page fetched before the deletion must not bring them back.
    this.deleted = new Set();
    // The highest id ever seen (kept even if that message is deleted): the catch-up cursor.
    this.lastSeenId = 0;
    // The highest `seq` seen: the server numbers each room's messages 1, 2, 3…
    this.lastSeq = 0;
  }

  /**
   * Whether messages were missed before this new one: its `seq` skips past the last one seen
   * (a push lost in an outage, say). Then fetch what follows `lastSeenId` as read before it.
   * A deleted message leaves its number unused, so a skip may also be a deletion: fetching
   * then finds nothing more, which costs one request and shows nothing wrong.
   */
  skipsAhead(message) {
    return Number.isInteger(message.seq) && message.seq > this.lastSeq + 1;
  }

  /** Messages in id order (ids grow with time on the server). */
  get messages() {
    return [...this.byId.values()].sort((a, b) => a.id - b.id);
  }

  get size() {
    return this.byId.size;
  }

  get oldestId() {
    let oldest = null;
    for (const id of this.byId.keys()) if (oldest === null || id < oldest) oldest = id;
    return oldest;
  }

  has(id) {
    return this.byId.has(id);
  }

  get(id) {
    return this.byId.get(id);
  }

  /** Whether a message with this client_id (our own, posted from this page) is known. */
  hasClientId(clientId) {
    if (!clientId) return false;
    for (const message of this.byId.values()) if (message.client_id === clientId) return true;
    return false;
  }

  /**
   * Add or refresh one message. Returns "added", "changed" or null (nothing to show: a
   * duplicate, a stale copy of an edited message, or a message deleted meanwhile).
   */
  upsert(message) {
    this.lastSeenId = Math.max(this.lastSeenId, message.id);
    if (Number.isInteger(message.seq)) this.lastSeq = Math.max(this.lastSeq, message.seq);
    if (this.deleted.has(message.id)) return null;
    const known = this.byId.get(message.id);
    if (!known) {
      this.byId.set(message.id, message);
      return "added";
    }
    const stale = editedKey(message) < editedKey(known);
    const same = editedKey(message) === editedKey(known) && message.body === known.body;
    if (stale || same) return null;
    this.byId.set(message.id, message);
    return "changed";
  }

  /** Upsert many; returns the ids that were added or changed, in id order. */
  merge(messages) {
    const touched = [];
    for (const message of messages) if (this.upsert(message)) touched.push(message.id);
    return touched.sort((a, b) => a - b);
  }

  /** Forget a deleted message for good. Returns whether it was shown. */
  remove(id) {
    this.deleted.add(id);
    this.lastSeenId = Math.max(this.lastSeenId, id);
    return this.byId.delete(id);
  }

  /**
   * Reconcile with a fresh page that covers every id from ``page[0].id`` to its last id:
   * known messages in that range missing from the page were deleted while we were away.
   * Returns { touched: ids added or changed, removed: ids removed }.
   */
  reconcile(page) {
    const touched = this.merge(page);
    if (!page.length) return { touched, removed: [] };
    const ids = new Set(page.map((message) => message.id));
    const low = Math.min(...ids);
    const high = Math.max(...ids);
    const removed = [];
    for (const id of [...this.byId.keys()]) {
      if (id >= low && id <= high && !ids.has(id)) {
        this.remove(id);
        removed.push(id);
      }
    }
    return { touched, removed: removed.sort((a, b) => a - b) };
  }

  /** The id of the message shown right after ``id`` (to insert its element before), or null. */
  nextId(id) {
    let next = null;
    for (const other of this.byId.keys()) if (other > id && (next === null || other < next)) next = other;
    return next;
  }
}

/** A fresh client_id (UUID v4) for a message, so a retry after a drop is never posted twice. */
export function newClientId(cryptoImpl = globalThis.crypto) {
  if (cryptoImpl && typeof cryptoImpl.randomUUID === "function") return cryptoImpl.randomUUID();
  // randomUUID exists only in secure contexts; getRandomValues works everywhere.
  const bytes = cryptoImpl.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
