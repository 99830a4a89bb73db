/**
 * Typing indicators: the server relays one-off `typing` signals, so the sender repeats them
 * (throttled) and the receiver lets each name lapse when the signals stop. Clocks are injected
 * so node's test runner covers both.
 */

export const TYPING_SEND_EVERY_MS = 2500;
export const TYPING_SHOWN_FOR_MS = 5000;

/** Calls ``send`` at most once per ``everyMs`` however often ``poke`` is called. */
export class Throttle {
  constructor(send, everyMs = TYPING_SEND_EVERY_MS, now = () => Date.now()) {
    this.send = send;
    this.everyMs = everyMs;
    this.now = now;
    this.last = -Infinity;
  }

  poke() {
    const now = this.now();
    if (now - this.last < this.everyMs) return false;
    this.last = now;
    this.send();
    return true;
  }

  /** After a message is sent, the next keystroke announces typing again at once. */
  reset() {
    this.last = -Infinity;
  }
}

/** Who is typing in a room, each name shown until ``shownForMs`` after their last signal. */
export class TypingTracker {
  constructor(shownForMs = TYPING_SHOWN_FOR_MS, now = () => Date.now()) {
    this.shownForMs = shownForMs;
    this.now = now;
    this.until = new Map();
  }

  typing(user) {
    this.until.set(user.id, { user, until: this.now() + this.shownForMs });
  }

  /** They sent their message or went offline: stop showing them at once. */
  stopped(userId) {
    this.until.delete(userId);
  }

  /** Display names of the people typing now, in the order they started. */
  names() {
    const now = this.now();
    const names = [];
    for (const [id, { user, until }] of this.until) {
      if (until <= now) this.until.delete(id);
      else names.push(user.display_name || user.username);
    }
    return names;
  }
}
