/**
 * A room's message pane: the log with its history (older pages as the reader scrolls up), my
 * messages editable, the composer, messages being sent (retried, never posted twice), and
 * fetching what a gap in the numbering or a reconnect says was missed.
 */

import { field, h, timeElement } from "../../dom.js";
import { MessageLog, newClientId } from "../../messages.js";
import { displayName } from "../../words.js";

const PAGE = 50;
const CATCH_UP_PAGE = 100;
// A 503 means the server did nothing (a service it needs is down): send again after this.
const RETRY_UNAVAILABLE_MS = 5000;

export class MessagesPane {
  constructor(view) {
    Object.assign(this, { view, api: view.api, roomId: view.roomId, me: view.me });
    this.log = new MessageLog();
    this.elements = new Map();
    this.pending = new Map();
    this.hasOlder = false;
    this.loadingOlder = false;
    this.olderButton = h("button", { type: "button", class: "link-button", hidden: true, onClick: () => this.loadOlder() },
      "Load older messages");
    this.list = h("ol", { class: "messages message-log", "aria-label": "Messages" });
    this.pendingList = h("ol", { class: "messages pending-list", "aria-label": "Messages being sent" });
    this.historyLoaded = false;
    this.emptyNote = h("p", { class: "empty", hidden: true });
    // role=log: screen readers announce new messages as they arrive.
    this.scroller = h("div", { class: "chat-scroll", role: "log", tabindex: "0", "aria-label": "Chat history", "aria-busy": "true" },
      this.olderButton, this.emptyNote, this.list, this.pendingList);
    this.scroller.addEventListener("scroll", () => {
      if (this.scroller.scrollTop < 60) this.loadOlder();
    });
    this.composer = this.buildComposer();
  }

  /** The latest page, shown at the bottom. */
  async loadLatest() {
    const history = await this.api.messages.list({ room: this.roomId, limit: PAGE });
    this.hasOlder = history.length === PAGE;
    this.show(this.log.merge(history), { scroll: "bottom" });
    this.historyLoaded = true;
    this.renderEmpty();
    this.scroller.setAttribute("aria-busy", "false");
  }

  /** A room with no message yet invites the first one (its members may write it). */
  renderEmpty() {
    this.emptyNote.hidden = !this.historyLoaded || this.log.size > 0 || this.pending.size > 0;
    this.emptyNote.textContent = this.view.members.isMember ? "No messages yet. Say hello!" : "No messages yet.";
  }

  /** A message created, edited or deleted. */
  onPush(data, action) {
    if (action === "delete") {
      if (this.log.remove(data.id)) this.unshow(data.id);
      return;
    }
    // Once the history is in, a new message numbered past the next one means some were missed.
    const missedAfter = this.view.loaded && action === "create" && this.log.skipsAhead(data) ? this.log.lastSeenId : null;
    const touched = this.log.upsert(data);
    if (touched) this.show([data.id], { scroll: data.author.id === this.me.id ? "bottom" : "follow" });
    if (missedAfter !== null) this.fillGap(missedAfter);
  }

  /** Render (or re-render) these message ids in place. */
  show(ids, { scroll = "follow" } = {}) {
    const atBottom = this.nearBottom();
    // Newest first: the element to insert each one before is then always on the page already.
    for (const id of [...ids].sort((x, y) => y - x)) {
      const message = this.log.get(id);
      if (!message) continue;
      this.dropPending(message.client_id);
      const element = this.messageElement(message);
      const old = this.elements.get(id);
      if (old) old.replaceWith(element);
      else {
        const next = this.log.nextId(id);
        this.list.insertBefore(element, next === null ? null : this.elements.get(next) || null);
      }
      this.elements.set(id, element);
      this.view.remember(message.author);
    }
    this.olderButton.hidden = !this.hasOlder;
    this.renderEmpty();
    if (scroll === "bottom" || (scroll === "follow" && atBottom)) this.scrollToBottom();
  }

  unshow(id) {
    const element = this.elements.get(id);
    if (element) element.remove();
    this.elements.delete(id);
    this.renderEmpty();
  }

  nearBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
  }

  scrollToBottom() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  messageElement(message) {
    const mine = message.author.id === this.me.id;
    const body = h("p", { class: "message-body", id: `message-${message.id}-body` }, message.body);
    const element = h("li", { class: mine ? "message mine" : "message", dataset: { id: message.id } },
      h("div", { class: "message-head" },
        h("span", { class: "author" }, displayName(message.author)),
        " ", timeElement(message.created_at),
        message.edited_at ? h("span", { class: "edited" }, " (edited)") : null),
      body);
    if (mine) {
      element.append(h("div", { class: "message-actions" },
        h("button", { type: "button", class: "link-button", "aria-describedby": body.id,
          onClick: () => this.edit(message, element, body) }, "Edit"),
        h("button", { type: "button", class: "link-button danger-text", "aria-describedby": body.id,
          onClick: () => this.remove(message) }, "Delete")));
    }
    return element;
  }

  edit(message, element, body) {
    const input = h("textarea", { class: "edit-input", rows: 2, maxlength: 4000, value: message.body });
    const error = h("p", { class: "form-error", role: "alert" });
    const cancel = () => form.replaceWith(body);
    const form = h("form", {
      class: "edit-form",
      onSubmit: async (event) => {
        event.preventDefault();
        try {
          const edited = await this.api.messages.patch(message.id, { body: input.value });
          if (this.log.upsert(edited)) this.show([edited.id], { scroll: "none" });
        } catch (problem) {
          error.textContent = problem.message;
        }
      },
    },
    field("Edit your message", input),
    h("div", { class: "row" },
      h("button", { type: "submit", class: "primary small" }, "Save"),
      h("button", { type: "button", class: "small", onClick: cancel }, "Cancel")),
    error);
    input.addEventListener("keydown", (event) => {
      if (event.key === "Escape") cancel();
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    body.replaceWith(form);
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
  }

  async remove(message) {
    try {
      await this.api.messages.delete(message.id);
      if (this.log.remove(message.id)) this.unshow(message.id);
    } catch (error) {
      this.view.say(error.message);
    }
  }

  async loadOlder() {
    if (!this.hasOlder || this.loadingOlder || this.log.oldestId === null) return;
    this.loadingOlder = true;
    this.scroller.setAttribute("aria-busy", "true");
    const before = this.scroller.scrollHeight;
    try {
      const page = await this.api.messages.list({ room: this.roomId, before: this.log.oldestId, limit: PAGE });
      this.hasOlder = page.length === PAGE;
      this.show(this.log.merge(page), { scroll: "none" });
      // Keep the message the reader was looking at in place.
      this.scroller.scrollTop += this.scroller.scrollHeight - before;
    } catch (error) {
      this.view.say(error.message);
    } finally {
      this.loadingOlder = false;
      this.scroller.setAttribute("aria-busy", "false");
    }
  }

  // --- Sending ----------------------------------------------------------------------------------

  buildComposer() {
    const input = h("textarea", {
      id: "composer", name: "body", rows: 2, maxlength: 4000, required: true,
      placeholder: "Write a message…", "aria-describedby": "composer-keys",
    });
    input.addEventListener("input", () => {
      if (input.value) this.view.members.typed();
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    const form = h("form", {
      class: "composer",
      hidden: true,
      onSubmit: (event) => {
        event.preventDefault();
        const body = input.value;
        if (!body.trim()) return;
        input.value = "";
        this.view.members.stoppedTyping();
        this.send({ clientId: newClientId(), body });
      },
    },
    h("label", { for: "composer", class: "visually-hidden" }, "Message"),
    h("span", { id: "composer-keys", class: "visually-hidden" }, "Enter sends; Shift+Enter starts a new line."),
    input,
    h("button", { type: "submit", class: "primary" }, "Send"));
    this.composerInput = input;
    return form;
  }

  focusComposer() {
    this.composerInput.focus();
  }

  /** Post a message; a retry keeps its client_id, so it is never posted twice. */
  async send(entry) {
    this.showPending(entry, "Sending…");
    try {
      const message = await this.api.messages.create({ room: this.roomId, body: entry.body, clientId: entry.clientId });
      if (this.log.upsert(message)) this.show([message.id], { scroll: "bottom" });
      this.dropPending(entry.clientId);
    } catch (error) {
      if (this.log.hasClientId(entry.clientId)) this.dropPending(entry.clientId);
      else if (error.status === 503) this.retryLater(entry, error);
      else this.showPending(entry, `Not sent: ${error.message}`, true);
    }
  }

  /** Nothing was stored, and the same client_id makes sending again safe: do it shortly. */
  retryLater(entry, error) {
    this.showPending(entry, `Not sent yet: ${error.message} Trying again in ${RETRY_UNAVAILABLE_MS / 1000} s…`);
    setTimeout(() => {
      if (!this.view.disposed && this.pending.has(entry.clientId)) this.send(entry);
    }, RETRY_UNAVAILABLE_MS);
  }

  /** Send again what never got a reply (the socket went down meanwhile). */
  resendPending() {
    for (const element of [...this.pending.values()]) this.send(element.entry);
  }

  showPending(entry, status, failed = false) {
    const old = this.pending.get(entry.clientId);
    const element = h("li", { class: `message mine pending${failed ? " failed" : ""}`, dataset: { clientId: entry.clientId } },
      h("div", { class: "message-head" }, h("span", { class: "author" }, displayName(this.me)), " ",
        h("span", { class: "pending-status" }, status)),
      h("p", { class: "message-body" }, entry.body),
      failed ? h("button", { type: "button", class: "link-button", onClick: () => this.send(entry) }, "Retry") : null);
    element.entry = entry;
    if (old) old.replaceWith(element);
    else this.pendingList.append(element);
    this.pending.set(entry.clientId, element);
    this.renderEmpty();
    this.scrollToBottom();
  }

  dropPending(clientId) {
    const element = clientId && this.pending.get(clientId);
    if (!element) return;
    element.remove();
    this.pending.delete(clientId);
    this.renderEmpty();
  }

  // --- Catching up ------------------------------------------------------------------------------

  /** Every message after the id `after`, page by page, shown where it belongs. */
  async fetchAfter(after) {
    for (;;) {
      const page = await this.api.messages.list({ room: this.roomId, after, limit: CATCH_UP_PAGE });
      this.show(this.log.merge(page));
      if (page.length < CATCH_UP_PAGE) return;
      after = page[page.length - 1].id;
    }
  }

  /** Fetch what a gap in `seq` says we missed; gaps seen meanwhile are filled in turn. */
  fillGap(after) {
    this.gapFilled = (this.gapFilled ?? Promise.resolve())
      .then(() => (this.view.disposed ? undefined : this.fetchAfter(after)))
      .catch((error) => {
        this.view.say(`Could not fetch missed messages: ${error.message}`);
      });
  }

  /** After a reconnect: what was posted meanwhile, and edits and deletions among the latest. */
  async catchUp() {
    await this.fetchAfter(this.log.lastSeenId);
    const latest = await this.api.messages.list({ room: this.roomId, limit: PAGE });
    const { touched, removed } = this.log.reconcile(latest);
    this.show(touched);
    removed.forEach((id) => this.unshow(id));
  }
}
