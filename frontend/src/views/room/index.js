/**
 * A room: its header, its message pane (messages.js) and its member pane (members.js), and what
 * spans both: the first load, catching up after a reconnect without gaps or duplicates, and
 * losing the room.
 */

import { h, replace } from "../../dom.js";
import { displayName } from "../../words.js";
import { MembersPane } from "./members.js";
import { MessagesPane } from "./messages.js";

export class RoomView {
  constructor(app, roomId) {
    this.app = app;
    this.api = app.api;
    this.me = app.me;
    this.roomId = roomId;
    this.room = null;
    this.subscriptions = [];
    this.loaded = false;
    this.disposed = false;
    this.isLost = false;
    this.cleanups = [];
    this.messages = new MessagesPane(this);
    this.members = new MembersPane(this);
  }

  get isOwner() {
    return this.room && this.room.owner.id === this.me.id;
  }

  mount(container) {
    this.title = h("h1", { id: "room-title" }, "Loading…");
    this.meta = h("p", { class: "room-meta" });
    this.notice = h("p", { class: "room-notice", role: "status" });
    replace(container,
      h("div", { class: "room-layout" },
        h("section", { class: "card chat", "aria-labelledby": "room-title" },
          h("header", { class: "room-header" },
            h("a", { href: "#/", class: "back-link" }, "← Rooms"),
            this.title, this.meta),
          this.notice,
          this.messages.scroller,
          this.members.typingLine,
          this.members.joinBar,
          this.messages.composer),
        this.members.sidebar));
    this.cleanups.push(this.members.start());
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
    this.subscriptions.splice(0).forEach((subscription) => subscription.cancel());
  }

  /** The room could not be opened: say so in the heading, and show no empty chat or members. */
  fail(error) {
    if (this.disposed) return;
    const missing = error.status === 404;
    this.title.textContent = missing ? "Room not found" : "The room could not be opened";
    document.title = `${this.title.textContent} · Parley`;
    this.notice.textContent = missing ? "This room does not exist, or you cannot see it." : error.message;
    this.notice.classList.add("error");
    this.messages.scroller.hidden = true;
    this.members.sidebar.hidden = true;
  }

  /** A line above the chat: what went wrong, or what changed. */
  say(text) {
    this.notice.textContent = text;
  }

  /** Keep a person met here, for the invite form and for calls. */
  remember(user) {
    this.app.people.set(user.id, user);
  }

  async load() {
    this.room = await this.api.rooms.retrieve(this.roomId);
    this.opened();
    // Subscribe before fetching: whatever happens in between is in the page or in a push.
    this.subscriptions.push(
      await this.api.messages.subscribeRoom(this.roomId, (data, action) => this.onMessagePush(data, action)));
    this.subscriptions.push(
      await this.api.presence.subscribeRoom(this.roomId, (data, action) => this.members.onPresencePush(data, action)));
    if (this.disposed) return this.dispose();
    await Promise.all([this.messages.loadLatest(), this.members.load()]);
    this.loaded = true;
    return null;
  }

  /** Found (maybe on a second try, after a reconnect): the header, and both panes shown. */
  opened() {
    this.renderHeader();
    this.notice.classList.remove("error");
    this.notice.textContent = "";
    this.messages.scroller.hidden = false;
    this.members.sidebar.hidden = false;
  }

  onMessagePush(data, action) {
    if (action === "revoked") {
      this.members.lose(this.me.id);
      this.lost("You are no longer a member of this room.");
      return;
    }
    this.messages.onPush(data, action);
    if (action !== "delete") this.members.spoke(data.author);
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

  /** Members write; others may join a public room; nobody does either in a room lost. */
  renderAccess() {
    const member = this.members.isMember;
    this.messages.composer.hidden = !member || this.isLost;
    this.messages.renderEmpty();
    this.members.joinBar.hidden = member || this.isLost || !this.room || this.room.is_private;
  }

  lost(text) {
    this.isLost = true;
    this.say(text);
    this.renderAccess();
  }

  /**
   * After a reconnect (dcrf-client has re-sent our subscribe requests already): fetch every
   * message posted while we were away, reconcile edits and deletions among the latest ones,
   * refresh who is online, and re-send what never got a reply.
   */
  async catchUp() {
    if (this.disposed) return;
    if (!this.loaded) {
      // The first load failed (the socket went down meanwhile): start over.
      this.cancelSubscriptions();
      this.load().catch((error) => this.fail(error));
      return;
    }
    try {
      await this.messages.catchUp();
      await this.members.load();
      this.messages.resendPending();
    } catch (error) {
      this.say(`Could not catch up: ${error.message}`);
    }
  }
}
