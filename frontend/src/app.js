/** The page: signing in and out, the shell (header, connection banner, calls), and routing. */

import { CallManager } from "./calls.js";
import { Connection } from "./connection.js";
import { h, replace } from "./dom.js";
import { currentUser, signOut } from "./http.js";
import { Api } from "./protocol.js";
import { DashboardStore, RoomsStore } from "./stores.js";
import { dashboardView } from "./views/dashboard.js";
import { lobbyView } from "./views/lobby.js";
import { RoomView } from "./views/room/index.js";
import { signInView } from "./views/signin.js";
import { displayName } from "./words.js";

const BANNER_WORDS = {
  reconnecting: "Connection lost. Reconnecting…",
  back: "Connected again.",
};

export class App {
  constructor(root) {
    this.root = root;
    this.people = new Map();
    this.disposeView = null;
    this.route = this.route.bind(this);
  }

  async start() {
    try {
      const user = await currentUser();
      if (user) this.enter(user);
      else this.showSignIn();
    } catch (error) {
      replace(this.root, h("main", { id: "main", class: "signin" },
        h("h1", {}, "Parley"),
        h("p", { role: "alert" }, `Parley cannot be reached (${error.message}).`),
        h("button", { type: "button", class: "primary", onClick: () => this.start() }, "Try again")));
    }
  }

  showSignIn(message) {
    document.title = "Parley";
    const view = signInView((user) => this.enter(user));
    if (message) view.prepend(h("p", { class: "room-notice", role: "alert" }, message));
    replace(this.root, view);
    view.querySelector("input")?.focus();
  }

  enter(user) {
    this.me = user;
    this.people.set(user.id, user);
    this.connection = new Connection();
    this.api = new Api(this.connection);
    this.rooms = new RoomsStore(this.api);
    this.dashboard = new DashboardStore(this.api);
    this.calls = new CallManager(this);
    this.buildShell();
    this.connection.on("status", (status) => this.showStatus(status));
    this.connection.on("signedout", () => this.leave("Your session has ended. Please sign in again."));
    window.addEventListener("hashchange", this.route);
    this.route();
    this.rooms.start().catch((error) => this.problem(error));
    this.calls.start().catch((error) => this.problem(error));
    this.dashboard.start().then((allowed) => { this.dashboardLink.hidden = !allowed; }).catch((error) => this.problem(error));
  }

  buildShell() {
    this.banner = h("div", { class: "banner", role: "status", "aria-live": "polite", hidden: true });
    this.main = h("main", { id: "main", tabindex: "-1" });
    this.lobbyLink = h("a", { href: "#/" }, "Rooms");
    this.dashboardLink = h("a", { href: "#/dashboard", hidden: true }, "Dashboard");
    replace(this.root,
      h("a", { class: "skip-link", href: "#main", onClick: (event) => { event.preventDefault(); this.main.focus(); } },
        "Skip to content"),
      h("header", { class: "topbar" },
        h("a", { class: "brand", href: "#/" }, "Parley"),
        h("nav", { "aria-label": "Main" }, this.lobbyLink, this.dashboardLink),
        h("div", { class: "me" },
          h("span", { class: "me-name" }, displayName(this.me)),
          h("span", { class: "me-id", title: "Others can invite you with this id" }, `id #${this.me.id}`),
          h("button", { type: "button", class: "small", onClick: () => this.signOut() }, "Sign out"))),
      this.banner,
      this.calls.notices,
      this.calls.ringArea,
      // A call and the page: side by side on a wide screen (app.css), the call above otherwise.
      h("div", { class: "stage" }, this.calls.panelArea, this.main));
  }

  showStatus(status) {
    clearTimeout(this.bannerTimer);
    if (status === "reconnecting") {
      this.wasDown = true;
      this.banner.textContent = BANNER_WORDS.reconnecting;
      this.banner.className = "banner warning";
      this.banner.hidden = false;
    } else if (status === "connected" && this.wasDown) {
      this.wasDown = false;
      this.banner.textContent = BANNER_WORDS.back;
      this.banner.className = "banner ok";
      this.bannerTimer = setTimeout(() => { this.banner.hidden = true; }, 3000);
    } else if (status === "closed") {
      this.banner.hidden = true;
    }
  }

  problem(error) {
    console.error("parley:", error);
    this.banner.textContent = error.message;
    this.banner.className = "banner warning";
    this.banner.hidden = false;
  }

  route() {
    if (this.disposeView) this.disposeView();
    this.disposeView = null;
    const hash = window.location.hash;
    const room = hash.match(/^#\/room\/(\d+)$/);
    this.lobbyLink.toggleAttribute("aria-current", !room && hash !== "#/dashboard");
    this.dashboardLink.toggleAttribute("aria-current", hash === "#/dashboard");
    if (room) {
      this.disposeView = new RoomView(this, Number(room[1])).mount(this.main);
    } else if (hash === "#/dashboard") {
      document.title = "Call dashboard · Parley";
      this.disposeView = dashboardView(this, this.main);
    } else {
      document.title = "Rooms · Parley";
      this.disposeView = lobbyView(this, this.main);
    }
    if (document.activeElement && document.activeElement !== document.body) this.main.focus({ preventScroll: true });
  }

  /** Close everything tied to the signed-in user. */
  leave(message) {
    window.removeEventListener("hashchange", this.route);
    if (this.disposeView) this.disposeView();
    this.disposeView = null;
    this.calls.close();
    this.connection.close();
    this.people.clear();
    this.showSignIn(message);
  }

  async signOut() {
    const call = this.calls.active;
    if (call) await call.hangup();
    this.leave();
    try {
      await signOut();
    } catch (error) {
      this.showSignIn(`Signing out failed: ${error.message}`);
    }
  }
}
