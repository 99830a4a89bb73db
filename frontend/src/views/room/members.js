/**
 * A room's member pane: who is a member and who is online (presence), who is typing and telling
 * the others when I am, joining and leaving, calling a member, and the owner's invite form.
 */

import { field, h, replace } from "../../dom.js";
import { Throttle, TypingTracker } from "../../typing.js";
import { displayName, typingWords } from "../../words.js";

export class MembersPane {
  constructor(view) {
    Object.assign(this, { view, api: view.api, roomId: view.roomId, me: view.me });
    this.members = new Map();
    this.online = new Set();
    this.typing = new TypingTracker();
    this.typingThrottle = new Throttle(() => this.sendTyping());
    this.typingLine = h("p", { class: "typing", "aria-live": "polite" });
    this.joinBar = h("div", { class: "join-bar", hidden: true },
      h("p", {}, "Join this room to write in it."),
      h("button", { type: "button", class: "primary", onClick: () => this.join() }, "Join room"));
    this.memberList = h("ul", { class: "member-list", "aria-labelledby": "members-title" });
    this.sidebarExtras = h("div");
    this.sidebar = h("aside", { class: "card sidebar", "aria-labelledby": "members-title" },
      h("h2", { id: "members-title" }, "Members"),
      this.memberList,
      this.sidebarExtras);
  }

  get isMember() {
    return this.members.has(this.me.id);
  }

  /** Names lapse when their typing signals stop; returns the function that stops the clock. */
  start() {
    const typingTimer = setInterval(() => this.renderTyping(), 1000);
    return () => clearInterval(typingTimer);
  }

  /** The members, and who of them is online. */
  async load() {
    const [members, online] = await Promise.all([
      this.api.rooms.members(this.roomId),
      this.api.presence.list(this.roomId),
    ]);
    this.members = new Map(members.map((membership) => [membership.user.id, membership]));
    this.online = new Set(online.map((user) => user.id));
    members.forEach((membership) => this.view.remember(membership.user));
    this.renderMembers();
    this.renderExtras();
  }

  /** Someone is no longer a member (me, when the room is taken from me). */
  lose(userId) {
    this.members.delete(userId);
    this.renderMembers();
  }

  /** Someone posted or edited a message: they are done typing, and they are a member. */
  spoke(user) {
    this.typing.stopped(user.id);
    this.renderTyping();
    this.noticeStranger(user);
  }

  /** Someone we do not know as a member spoke or typed: they joined meanwhile. */
  noticeStranger(user) {
    if (this.members.has(user.id) || this.refreshingMembers) return;
    this.refreshingMembers = this.load().catch(() => {}).finally(() => { this.refreshingMembers = null; });
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
    this.view.remember(user);
    this.noticeStranger(user);
    this.renderMembers();
    this.renderTyping();
  }

  // --- Typing -----------------------------------------------------------------------------------

  /** I typed in the composer: tell the others, at most every few seconds. */
  typed() {
    this.typingThrottle.poke();
  }

  /** I sent my message: the next keystroke tells them again at once. */
  stoppedTyping() {
    this.typingThrottle.reset();
  }

  sendTyping() {
    if (this.isMember) this.api.presence.typing(this.roomId).catch(() => {});
  }

  renderTyping() {
    const text = typingWords(this.typing.names());
    if (this.typingLine.textContent !== text) this.typingLine.textContent = text;
  }

  // --- Members ----------------------------------------------------------------------------------

  renderMembers() {
    const members = [...this.members.values()].sort((a, b) =>
      Number(this.online.has(b.user.id)) - Number(this.online.has(a.user.id)) ||
      displayName(a.user).localeCompare(displayName(b.user)));
    replace(this.memberList, members.map((membership) => this.memberItem(membership)));
    this.view.renderAccess();
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
          onClick: () => this.view.app.calls.placeCall(user, this.roomId) }, "Call")
        : null);
  }

  async join() {
    try {
      await this.api.rooms.join(this.roomId);
      await this.load();
      this.view.messages.focusComposer();
    } catch (error) {
      this.view.say(error.message);
    }
  }

  async leave() {
    try {
      await this.api.rooms.leave(this.roomId);
      window.location.hash = "#/";
    } catch (error) {
      this.view.say(error.message);
    }
  }

  /** Owner tools and the leave button: built once, so a refresh never wipes what is typed. */
  renderExtras() {
    if (!this.extras) {
      this.extras = { invite: this.inviteForm(), leave: h("button", { type: "button", class: "small leave-button", onClick: () => this.leave() }, "Leave room") };
      replace(this.sidebarExtras, this.extras.invite.form, this.extras.leave);
    }
    this.extras.invite.form.hidden = !(this.view.isOwner && this.view.room.is_private);
    this.extras.invite.refresh();
    this.extras.leave.hidden = !this.isMember || this.view.isOwner;
  }

  /** Owner of a private room: add someone by picking a person met elsewhere, or by user id. */
  inviteForm() {
    const pick = h("select", { id: "invite-pick" });
    const userId = h("input", { id: "invite-user-id", type: "number", min: 1, inputmode: "numeric" });
    const status = h("p", { class: "form-status", role: "status" });
    const refresh = () => {
      const chosen = pick.value;
      const candidates = [...this.view.app.people.values()].filter((user) => !this.members.has(user.id));
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
          await this.load();
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
