/**
 * 1:1 video calls: ringing, placing, answering, and what became of each call, in words. The
 * `calls` stream rings every tab of the callee; the tab that accepts (and the tab that placed
 * the call) runs it: its panel (call-panel.js) over its media (peer.js), signaled through
 * Parley's `sdp` and `ice` streams. ICE servers come from the server's `ice_servers` action.
 *
 * Caller: create → (ringing) → accepted push → getUserMedia + offer → answer.
 * Callee: ring → accept → getUserMedia → offer (push or list) → answer.
 */

import { ActiveCall } from "./call-panel.js";
import { h } from "./dom.js";
import { Ringer, askForNotifications } from "./ringer.js";
import { callWords, displayName, isFinal, laterCall } from "./words.js";

const NOTICES_KEPT = 3;

export class CallManager {
  constructor(app) {
    this.app = app;
    /** @type {import("./protocol.js").Api} */
    this.api = app.api;
    this.me = app.me.id;
    this.calls = new Map();
    this.rings = new Map();
    this.ringer = new Ringer();
    // Calls this tab rang for, or placed: the ones whose outcome it tells in words.
    this.involved = new Set();
    this.active = null;
    this.noticeCount = 0;
    this.ringArea = h("div", { class: "ring-area" });
    this.panelArea = h("div", { class: "call-area" });
    this.notices = h("ul", { class: "call-notices", role: "status", "aria-live": "polite", "aria-label": "Call notices" });
  }

  async start() {
    // Subscribe first, then list: a call that rings in between is in one or the other.
    this.subscription = await this.api.calls.subscribe((call) => this.onCall(call));
    this.api.connection.on("reconnect", () => this.refresh());
    await this.refresh();
  }

  /** Fetch my recent calls: rings that started before this tab opened, states missed offline. */
  async refresh() {
    try {
      const calls = await this.api.calls.list();
      for (const call of calls.reverse()) {
        if (call.state === "ringing" || this.involved.has(call.id)) this.onCall(call);
      }
    } catch (error) {
      console.error("parley: could not list calls", error);
    }
  }

  onCall(call) {
    if (!call || !call.id) return;
    const known = this.calls.get(call.id);
    const latest = laterCall(known, call);
    this.calls.set(call.id, latest);
    // A call to me while I was in another one is born busy: it never rang, yet I should know.
    if (!known && call.state === "busy" && call.callee.id === this.me) this.involved.add(call.id);
    this.sync(latest);
  }

  sync(call) {
    const here = this.active && this.active.call.id === call.id;
    if (call.state === "ringing") {
      if (call.callee.id === this.me && !this.rings.has(call.id)) this.ring(call);
      if (here) this.active.update(call);
      return;
    }
    const rang = this.unring(call.id);
    if (here) {
      this.active.update(call);
    } else if (isFinal(call) && this.involved.has(call.id)) {
      this.involved.delete(call.id);
      this.notify(callWords(call, this.me), call);
    } else if (call.state === "accepted" && rang && this.answering !== call.id) {
      this.notify(`You answered ${displayName(call.caller)} on another tab or device.`, call);
    }
  }

  // --- Ringing ----------------------------------------------------------------------------------

  ring(call) {
    this.involved.add(call.id);
    const id = `ring-${call.id}`;
    const accept = h("button", { type: "button", class: "primary accept-button", onClick: () => this.accept(call.id) }, "Accept");
    const decline = h("button", { type: "button", class: "danger decline-button", onClick: () => this.decline(call.id) }, "Decline");
    const card = h("div", { class: "ring card", role: "alertdialog", "aria-labelledby": id, dataset: { callId: call.id } },
      h("p", { class: "ring-title", id }, callWords(call, this.me)),
      h("div", { class: "row" }, accept, decline));
    this.rings.set(call.id, card);
    this.ringArea.append(card);
    this.ringer.start(callWords(call, this.me));
    // Focus goes to Accept, unless the person is typing: Enter must not answer a call for them.
    const typing = document.activeElement && document.activeElement.matches("input, textarea, select");
    if (!typing) accept.focus({ preventScroll: true });
  }

  unring(callId) {
    const card = this.rings.get(callId);
    if (!card) return false;
    card.remove();
    this.rings.delete(callId);
    if (this.rings.size === 0) this.ringer.stop();
    return true;
  }

  async accept(callId) {
    const card = this.rings.get(callId);
    card?.querySelectorAll("button").forEach((button) => { button.disabled = true; });
    if (this.active) {
      this.notify("Hang up your current call first.");
      card?.querySelectorAll("button").forEach((button) => { button.disabled = false; });
      return;
    }
    // The accepted push may come before the reply: it is this tab answering, not another one.
    this.answering = callId;
    try {
      const call = await this.api.calls.accept(callId);
      this.active = new ActiveCall(this, call, "callee");
      this.onCall(call);
      await this.active.begin();
    } catch (error) {
      this.unring(callId);
      this.notify(`Could not answer: ${error.message}`);
      if (this.active && this.active.call.id === callId) await this.active.hangup();
    } finally {
      this.answering = null;
    }
  }

  async decline(callId) {
    try {
      this.onCall(await this.api.calls.reject(callId));
    } catch (error) {
      this.unring(callId);
      this.notify(`Could not decline: ${error.message}`);
    }
  }

  // --- Calling ----------------------------------------------------------------------------------

  async placeCall(user, roomId) {
    if (this.active) {
      this.notify("Hang up your current call first.");
      return;
    }
    if (this.placing) return; // a double click places one call
    this.placing = true;
    askForNotifications(); // from a click: the one moment a browser lets a page ask
    try {
      const call = await this.api.calls.create({ callee: user.id, room: roomId });
      this.involved.add(call.id);
      if (call.state === "ringing" && call.caller.id !== this.me) {
        // Glare: they are ringing us at this very moment; answering is what we want.
        await this.accept(call.id);
        return;
      }
      if (call.state === "ringing") {
        this.active = new ActiveCall(this, call, "caller");
        this.active.follow().catch((error) => this.active?.fail(error));
      }
      this.onCall(call);
    } catch (error) {
      this.notify(`Could not call ${displayName(user)}: ${error.message}`);
    } finally {
      this.placing = false;
    }
  }

  ended(activeCall, call) {
    if (this.active === activeCall) this.active = null;
    this.involved.delete(call.id);
    this.notify(callWords(call, this.me), call);
  }

  notify(text, call) {
    const id = `notice-${++this.noticeCount}`;
    const item = h("li", { class: "call-notice", dataset: call ? { callId: call.id, state: call.state } : {} },
      h("span", { id }, text),
      h("button", { type: "button", class: "link-button", "aria-describedby": id, onClick: () => item.remove() }, "Dismiss"));
    this.notices.prepend(item);
    while (this.notices.children.length > NOTICES_KEPT) this.notices.lastChild.remove();
  }

  /** Signing out: end what is running here. */
  close() {
    if (this.active) this.active.close();
    for (const id of [...this.rings.keys()]) this.unring(id);
  }
}
