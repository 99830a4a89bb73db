/**
 * A room: live chat with history, my messages editable, who is online, who is typing, calls,
 * invitations (owner), and catching up after a reconnect without gaps or duplicates.
 */

import { field, h, replace, timeElement } from "../dom.js";
import { MessageLog, newClientId } from "../messages.js";
import { Throttle, TypingTracker } from "../typing.js";
import { displayName, typingWords } from "../words.js";

const PAGE = 50;
const CATCH_UP_PAGE = 100;
// A 503 means the server did nothing (a service it needs is down): send again after this.
const RETRY_UNAVAILABLE_MS = 5000;

export class RoomView {
  constructor(app, roomId) {
    this.app = app;
    this.api = app.api;
    this.me = app.me;
    this.roomId = roomId;
    this.room = null;
    this.log = new MessageLog();
    this.elements = new Map();
    this.pending = new Map();
    this.members = new Map();
    this.online = new Set();
    this.typing = new TypingTracker();
    this.typingThrottle = new Throttle(() => this.sendTyping());
    this.hasOlder = false;
    this.loadingOlder = false;
    this.disposed = false;
    this.isLost = false;
    this.cleanups = [];
  }

  get isMember() {
    return this.members.has(this.me.id);
  }

  get isOwner() {
    return this.room && this.room.owner.id === this.me.id;
  }

  mount(container) {
    this.title = h("h1", { id: "room-title" }, "Loading…");
    this.meta = h("p", { class: "room-meta" });
    this.notice = h("p", { class: "room-notice", role: "status" });
    this.olderButton = h("button", { type: "button", class: "link-button", hidden: true, onClick: () => this.loadOlder() },
      "Load older messages");
    this.list = h("ol", { class: "messages message-log", "aria-label": "Messages" });
    this.pendingList = h("ol", { class: "messages pending-list", "aria-label": "Messages being sent" });
    // role=log: screen readers announce new messages as they arrive.
    this.scroller = h("div", { class: "chat-scroll", role: "log", tabindex: "0", "aria-label": "Chat history", "aria-busy": "true" },
      this.olderButton, this.list, this.pendingList);
    this.scroller.addEventListener("scroll", () => {
      if (this.scroller.scrollTop < 60) this.loadOlder();
    });
    this.typingLine = h("p", { class: "typing", "aria-live": "polite" });
    this.composer = this.buildComposer();
    this.joinBar = h("div", { class: "join-bar", hidden: true },
      h("p", {}, "Join this room to write in it."),
      h("button", { type: "button", class: "primary", onClick: () => this.join() }, "Join room"));
    this.memberList = h("ul", { class: "member-list", "aria-labelledby": "members-title" });
    this.sidebarExtras = h("div");
    replace(container,
      h("div", { class: "room-layout" },
        h("section", { class: "card chat", "aria-labelledby": "room-title" },
          h("header", { class: "room-header" },
            h("a", { href: "#/", class: "back-link" }, "← Rooms"),
            this.title, this.meta),
          this.notice,
          this.scroller,
          this.typingLine,
          this.joinBar,
          this.composer),
        h("aside", { class: "card sidebar", "aria-labelledby": "members-title" },
          h("h2", { id: "members-title" }, "Members"),
          this.memberList,
          this.sidebarExtras)));
    const typingTimer = setInterval(() => this.renderTyping(), 1000);
    this.cleanups.push(() => clearInterval(typingTimer));
    this.cleanups.push(this.api.connection.on("reconnect", () => this.catchUp()));
    this.cleanups.push(this.app.rooms.watch(() => this.roomChanged()));
    this.load().catch((error) => this.fail(error));
    return () => this.dispose();
  }

  dispose() {
    this.disposed = true;
    this.cleanups.splice(0).forEach((cleanup) => cleanup());
    this.cancelSubscriptions();
  }

  cancelSubscriptions() {
    for (const key of ["messageSubscription", "presenceSubscription"]) {
      if (this[key]) this[key].cancel();
      this[key] = null;
    }
  }

  fail(error) {
    if (this.disposed) return;
    this.notice.textContent = error.status === 404 ? "This room does not exist, or you cannot see it." : error.message;
    this.notice.classList.add("error");
  }

  async load() {
    this.room = await this.api.rooms.retrieve(this.roomId);
    this.renderHeader();
    // Subscribe before fetching: whatever happens in between is in the page or in a push.
    this.messageSubscription = await this.api.messages.subscribeRoom(this.roomId, (data, action) => this.onMessagePush(data, action));
    this.presenceSubscription = await this.api.presence.subscribeRoom(this.roomId, (data, action) => this.onPresencePush(data, action));
    if (this.disposed) return this.dispose();
    const [history] = await Promise.all([
      this.api.messages.list({ room: this.roomId, limit: PAGE }),
      this.loadMembers(),
    ]);
    this.hasOlder = history.length === PAGE;
    this.show(this.log.merge(history), { scroll: "bottom" });
    this.scroller.setAttribute("aria-busy", "false");
    this.loaded = true;
  }

  roomChanged() {
    if (!this.room) return;
    const room = this.app.rooms.get(this.roomId);
    if (room) {
      this.seenInLobby = true;
      this.room = room;
      this.renderHeader();
    } else if (this.seenInLobby) {
      // Gone from the lobby: deleted, or made private (or lost) while I am not a member.
      this.lost("This room was deleted, or you can no longer see it.");
    }
  }

  renderHeader() {
    this.title.textContent = this.room.title || this.room.name;
    replace(this.meta,
      h("span", { class: `badge ${this.room.is_private ? "badge-private" : "badge-public"}` },
        this.room.is_private ? "Private" : "Public"),
      ` #${this.room.name} · owner ${displayName(this.room.owner)}`);
    document.title = `${this.room.title || this.room.name} · Parley`;
  }

  lost(text) {
    this.isLost = true;
    this.notice.textContent = text;
    this.composer.hidden = true;
    this.joinBar.hidden = true;
  }

  // --- Messages -------------------------------------------------------------------------------

  onMessagePush(data, action) {
    if (action === "revoked") {
      this.members.delete(this.me.id);
      this.renderMembers();
      this.lost("You are no longer a member of this room.");
      return;
    }
    if (action === "delete") {
      if (this.log.remove(data.id)) this.unshow(data.id);
      return;
    }
    // Once the history is in, a new message numbered past the next one means some were missed.
    const missedAfter = this.loaded && action === "create" && this.log.skipsAhead(data) ? this.log.lastSeenId : null;
    const touched = this.log.upsert(data);
    if (touched) this.show([data.id], { scroll: data.author.id === this.me.id ? "bottom" : "follow" });
    if (missedAfter !== null) this.fillGap(missedAfter);
    this.typing.stopped(data.author.id);
    this.renderTyping();
    this.noticeStranger(data.author);
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
      this.rememberUser(message.author);
    }
    this.olderButton.hidden = !this.hasOlder;
    if (scroll === "bottom" || (scroll === "follow" && atBottom)) this.scrollToBottom();
  }

  unshow(id) {
    const element = this.elements.get(id);
    if (element) element.remove();
    this.elements.delete(id);
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
      this.notice.textContent = error.message;
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
      this.notice.textContent = error.message;
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
      if (input.value) this.typingThrottle.poke();
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
        this.typingThrottle.reset();
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
      if (!this.disposed && this.pending.has(entry.clientId)) this.send(entry);
    }, RETRY_UNAVAILABLE_MS);
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
    this.scrollToBottom();
  }

  dropPending(clientId) {
    const element = clientId && this.pending.get(clientId);
    if (!element) return;
    element.remove();
    this.pending.delete(clientId);
  }

  sendTyping() {
    if (this.isMember) this.api.presence.typing(this.roomId).catch(() => {});
  }

  // --- Reconnecting -----------------------------------------------------------------------------

  /**
   * After a reconnect (dcrf-client has re-sent our subscribe requests already): fetch every
   * message posted while we were away, reconcile edits and deletions among the latest ones,
   * refresh who is online, and re-send what never got a reply.
   */
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
      .then(() => (this.disposed ? undefined : this.fetchAfter(after)))
      .catch((error) => {
        this.notice.textContent = `Could not fetch missed messages: ${error.message}`;
      });
  }

  async catchUp() {
    if (this.disposed) return;
    if (!this.loaded) {
      // The first load failed (the socket went down meanwhile): start over.
      this.cancelSubscriptions();
      this.load().catch((error) => this.fail(error));
      return;
    }
    try {
      await this.fetchAfter(this.log.lastSeenId);
      const latest = await this.api.messages.list({ room: this.roomId, limit: PAGE });
      const { touched, removed } = this.log.reconcile(latest);
      this.show(touched);
      removed.forEach((id) => this.unshow(id));
      await this.loadMembers();
      for (const element of [...this.pending.values()]) this.send(element.entry);
    } catch (error) {
      this.notice.textContent = `Could not catch up: ${error.message}`;
    }
  }

  // --- Members, presence, typing ------------------------------------------------------------

  async loadMembers() {
    const [members, online] = await Promise.all([
      this.api.rooms.members(this.roomId),
      this.api.presence.list(this.roomId),
    ]);
    this.members = new Map(members.map((membership) => [membership.user.id, membership]));
    this.online = new Set(online.map((user) => user.id));
    members.forEach((membership) => this.rememberUser(membership.user));
    this.renderMembers();
    this.renderExtras();
  }

  /** Someone we do not know as a member spoke or typed: they joined meanwhile. */
  noticeStranger(user) {
    if (this.members.has(user.id) || this.refreshingMembers) return;
    this.refreshingMembers = this.loadMembers().catch(() => {}).finally(() => { this.refreshingMembers = null; });
  }

  rememberUser(user) {
    this.app.people.set(user.id, user);
  }

  onPresencePush(data, action) {
    if (action === "revoked") return;
    const user = data.user;
    if (action === "create" || action === "update") this.online.add(user.id);
    if (action === "delete") {
      this.online.delete(user.id);
      this.typing.stopped(user.id);
    }
    if (action === "update" && data.typing) this.typing.typing(user);
    this.rememberUser(user);
    this.noticeStranger(user);
    this.renderMembers();
    this.renderTyping();
  }

  renderTyping() {
    const text = typingWords(this.typing.names());
    if (this.typingLine.textContent !== text) this.typingLine.textContent = text;
  }

  renderMembers() {
    const members = [...this.members.values()].sort((a, b) =>
      Number(this.online.has(b.user.id)) - Number(this.online.has(a.user.id)) ||
      displayName(a.user).localeCompare(displayName(b.user)));
    replace(this.memberList, members.map((membership) => this.memberItem(membership)));
    this.composer.hidden = !this.isMember || this.isLost;
    this.joinBar.hidden = this.isMember || this.isLost || !this.room || this.room.is_private;
  }

  memberItem({ user, role }) {
    const online = this.online.has(user.id);
    const me = user.id === this.me.id;
    return h("li", { class: "member", dataset: { userId: user.id, online: String(online) } },
      h("span", { class: `presence-dot ${online ? "online" : "offline"}`, "aria-hidden": "true" }),
      h("span", { class: "member-name" }, displayName(user), me ? " (you)" : ""),
      h("span", { class: "visually-hidden" }, online ? ", online" : ", offline"),
      role === "owner" ? h("span", { class: "badge" }, "owner") : null,
      online && !me
        ? h("button", { type: "button", class: "small call-button", "aria-label": `Call ${displayName(user)}`,
          onClick: () => this.app.calls.placeCall(user, this.roomId) }, "Call")
        : null);
  }

  async join() {
    try {
      await this.api.rooms.join(this.roomId);
      await this.loadMembers();
      this.composerInput.focus();
    } catch (error) {
      this.notice.textContent = error.message;
    }
  }

  async leave() {
    try {
      await this.api.rooms.leave(this.roomId);
      window.location.hash = "#/";
    } catch (error) {
      this.notice.textContent = error.message;
    }
  }

  /** Owner tools and the leave button: built once, so a refresh never wipes what is typed. */
  renderExtras() {
    if (!this.extras) {
      this.extras = { invite: this.inviteForm(), leave: h("button", { type: "button", class: "small leave-button", onClick: () => this.leave() }, "Leave room") };
      replace(this.sidebarExtras, this.extras.invite.form, this.extras.leave);
    }
    this.extras.invite.form.hidden = !(this.isOwner && this.room.is_private);
    this.extras.invite.refresh();
    this.extras.leave.hidden = !this.isMember || this.isOwner;
  }

  /** Owner of a private room: add someone by picking a person met elsewhere, or by user id. */
  inviteForm() {
    const pick = h("select", { id: "invite-pick" });
    const userId = h("input", { id: "invite-user-id", type: "number", min: 1, inputmode: "numeric" });
    const status = h("p", { class: "form-status", role: "status" });
    const refresh = () => {
      const chosen = pick.value;
      const candidates = [...this.app.people.values()].filter((user) => !this.members.has(user.id));
      replace(pick,
        h("option", { value: "" }, candidates.length ? "Choose someone…" : "Nobody else met yet"),
        candidates.map((user) => h("option", { value: String(user.id) }, `${displayName(user)} (#${user.id})`)));
      pick.value = candidates.some((user) => String(user.id) === chosen) ? chosen : "";
    };
    const form = h("form", {
      class: "invite-form",
      "aria-labelledby": "invite-title",
      onSubmit: async (event) => {
        event.preventDefault();
        const id = Number(userId.value || pick.value);
        if (!id) {
          status.textContent = "Choose someone or type their user id.";
          return;
        }
        try {
          const membership = await this.api.rooms.invite(this.roomId, id);
          status.textContent = `${displayName(membership.user)} can now see this room.`;
          userId.value = "";
          await this.loadMembers();
        } catch (error) {
          status.textContent = error.status === 400 ? "There is no user with that id." : error.message;
        }
      },
    },
    h("h3", { id: "invite-title" }, "Invite someone"),
    field("Someone you have met", pick),
    field("…or their user id", userId, "Everyone's id is shown next to their name at the top of their page."),
    h("button", { type: "submit", class: "small" }, "Invite"),
    status);
    return { form, refresh };
  }
}
