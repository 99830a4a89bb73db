/**
 * 1:1 video calls. The `calls` stream rings every tab of the callee; the tab that accepts (and
 * the tab that placed the call) run the RTCPeerConnection, signaled through Parley's `sdp` and
 * `ice` streams. ICE servers come from the server's `ice_servers` action.
 *
 * Caller: create → (ringing) → accepted push → getUserMedia + offer → answer.
 * Callee: ring → accept → getUserMedia → offer (push or list) → answer.
 */

import { h, replace } from "./dom.js";
import { SignalInbox, candidateRow } from "./signaling.js";
import { Ringer, askForNotifications } from "./ringer.js";
import { callWords, displayName, formatDuration, isFinal, laterCall, otherParty } from "./words.js";

const NOTICES_KEPT = 3;

export class CallManager {
  constructor(app) {
    this.app = app;
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

/** The call this tab takes part in: its panel, its media and its RTCPeerConnection. */
class ActiveCall {
  constructor(manager, call, role) {
    this.manager = manager;
    this.api = manager.api;
    this.call = call;
    this.role = role;
    this.inbox = new SignalInbox(manager.me);
    this.subscriptions = [];
    // Every step touching the peer connection runs in order, one at a time.
    this.chain = Promise.resolve();
    this.pc = null;
    this.local = null;
    this.started = false;
    this.closed = false;
    this.buildPanel();
  }

  get other() {
    return otherParty(this.call, this.manager.me);
  }

  buildPanel() {
    const other = displayName(this.other);
    this.title = h("h2", { class: "call-title", id: "call-title" });
    this.timer = h("p", { class: "call-timer", "aria-label": "Call duration" });
    this.status = h("p", { class: "call-status", role: "status" });
    this.remoteVideo = h("video", { class: "remote-video", autoplay: true, playsinline: true, "aria-label": `${other}'s video` });
    this.localVideo = h("video", { class: "local-video", autoplay: true, playsinline: true, muted: true, "aria-label": "Your video" });
    this.muteButton = h("button", { type: "button", class: "mute-button", "aria-pressed": "false", disabled: true,
      onClick: () => this.toggle("audio", this.muteButton, "Mute microphone", "Unmute microphone") }, "Mute microphone");
    this.cameraButton = h("button", { type: "button", class: "camera-button", "aria-pressed": "false", disabled: true,
      onClick: () => this.toggle("video", this.cameraButton, "Turn camera off", "Turn camera on") }, "Turn camera off");
    this.soundButton = h("button", { type: "button", class: "sound-button", hidden: true, onClick: () => this.unmuteRemote() },
      "Turn on sound");
    this.hangupButton = h("button", { type: "button", class: "danger hangup-button", onClick: () => this.hangup() }, "Hang up");
    this.panel = h("section", { class: "call-panel card", "aria-labelledby": "call-title", dataset: { callId: this.call.id } },
      h("div", { class: "call-head" }, this.title, this.timer),
      this.status,
      h("div", { class: "videos" }, this.remoteVideo, this.localVideo),
      h("div", { class: "row call-controls" }, this.muteButton, this.cameraButton, this.soundButton, this.hangupButton));
    this.renderTitle();
    replace(this.manager.panelArea, this.panel);
    // Placing or answering a call is what the person just did: take them to its controls.
    this.hangupButton.focus();
  }

  renderTitle() {
    this.title.textContent = callWords(this.call, this.manager.me);
    this.panel.dataset.state = this.call.state;
  }

  /** A newer state of this call arrived. */
  update(call) {
    if (this.closed) return;
    this.call = call;
    this.renderTitle();
    if (isFinal(call)) {
      this.close();
      this.manager.ended(this, call);
    } else if (call.state === "accepted") {
      this.startTimer();
      if (this.role === "caller" && !this.started) {
        this.started = true;
        this.run(() => this.startMedia());
        this.run(() => this.offer());
      }
    }
  }

  /** Callee, once accepted: media first, then the signaling already waiting for us. */
  async begin() {
    this.startTimer();
    this.run(() => this.startMedia());
    await this.follow();
  }

  run(step) {
    this.chain = this.chain.then(() => (this.closed ? null : step())).catch((error) => this.fail(error));
    return this.chain;
  }

  fail(error) {
    if (this.closed) return;
    console.error("parley: call failed", error);
    this.status.textContent = `Problem: ${error.message}`;
  }

  /** Subscribe to the other party's SDP and candidates, then fetch what was sent already. */
  async follow() {
    const call = this.call.id;
    this.subscriptions.push(
      await this.api.sdp.subscribeCall(call, (row) => this.run(() => this.onDescription(row))),
      await this.api.ice.subscribeCall(call, (row) => this.run(() => this.onCandidate(row))),
    );
    if (this.closed) return this.unfollow();
    const [descriptions, candidates] = await Promise.all([
      this.api.sdp.list(call),
      this.api.ice.list(call),
    ]);
    descriptions.forEach((row) => this.run(() => this.onDescription(row)));
    candidates.forEach((row) => this.run(() => this.onCandidate(row)));
    return null;
  }

  unfollow() {
    this.subscriptions.forEach((subscription) => subscription.cancel());
    this.subscriptions = [];
  }

  async startMedia() {
    this.started = true;
    this.status.textContent = "Starting camera and microphone…";
    const { ice_servers: iceServers } = await this.api.calls.iceServers();
    const pc = new RTCPeerConnection({ iceServers });
    this.pc = pc;
    pc.addEventListener("icecandidate", (event) => this.sendCandidate(event.candidate));
    pc.addEventListener("track", (event) => this.showRemote(event));
    pc.addEventListener("connectionstatechange", () => this.connectionState(pc.connectionState));
    try {
      this.local = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    } catch (error) {
      return this.mediaFailed(error);
    }
    if (this.closed) return this.stopMedia();
    for (const track of this.local.getTracks()) pc.addTrack(track, this.local);
    this.localVideo.srcObject = this.local;
    this.localVideo.play().catch(() => {});
    this.muteButton.disabled = false;
    this.cameraButton.disabled = false;
    this.status.textContent = "Connecting…";
    return null;
  }

  async offer() {
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    await this.api.sdp.create({ call: this.call.id, type: "offer", sdp: this.pc.localDescription.sdp });
  }

  async onDescription(row) {
    const description = this.inbox.description(row);
    if (!description || !this.pc) return;
    await this.pc.setRemoteDescription(description);
    for (const candidate of this.inbox.remoteDescriptionSet()) await this.addCandidate(candidate);
    if (description.type === "offer") {
      await this.pc.setLocalDescription(await this.pc.createAnswer());
      await this.api.sdp.create({ call: this.call.id, type: "answer", sdp: this.pc.localDescription.sdp });
    }
  }

  async onCandidate(row) {
    for (const candidate of this.inbox.candidate(row)) await this.addCandidate(candidate);
  }

  async addCandidate(candidate) {
    try {
      // null: the other party has no more candidates.
      await this.pc.addIceCandidate(candidate ?? undefined);
    } catch (error) {
      console.warn("parley: candidate refused", error);
    }
  }

  sendCandidate(candidate) {
    if (this.closed) return;
    this.api.ice.create(candidateRow(this.call.id, candidate)).catch((error) => {
      console.warn("parley: candidate not sent", error);
    });
  }

  showRemote(event) {
    const stream = event.streams[0] || new MediaStream([event.track]);
    if (this.remoteVideo.srcObject !== stream) this.remoteVideo.srcObject = stream;
    this.remoteVideo.play().catch(() => {
      // Autoplay with sound needs a user gesture: play muted, and offer a button for sound.
      this.remoteVideo.muted = true;
      this.soundButton.hidden = false;
      this.remoteVideo.play().catch(() => {});
    });
  }

  unmuteRemote() {
    this.remoteVideo.muted = false;
    this.soundButton.hidden = true;
    this.remoteVideo.play().catch(() => {});
  }

  connectionState(state) {
    const words = {
      connecting: "Connecting…",
      connected: "Connected",
      disconnected: "Connection interrupted; trying to recover…",
      failed: "The connection failed: the call has ended.",
    };
    if (words[state]) this.status.textContent = words[state];
    this.panel.dataset.media = state;
    // Parley records when media flows, and ends the call for both sides (saying why) when it
    // cannot, rather than leave two people looking at a frozen call.
    if (state === "connected" && !this.reportedConnected) {
      this.reportedConnected = true;
      this.report({ state: "connected" });
    } else if (state === "failed") {
      this.report({ state: "failed", reason: "ice_failed" });
    }
  }

  /** The camera and microphone could not start: say why, and end the call saying so. */
  mediaFailed(error) {
    const insecure = typeof window !== "undefined" && window.isSecureContext === false;
    const why = insecure
      ? "Camera and microphone need HTTPS or localhost: the call has ended."
      : `Camera or microphone unavailable (${error.message}): the call has ended.`;
    this.status.textContent = why;
    this.manager.notify(why); // the panel closes with the call: the notice stays
    this.report({ state: "failed", reason: "user_media_failed" });
    return null;
  }

  report(media) {
    this.api.calls.media(this.call.id, media)
      .then((call) => this.manager.onCall(call))
      .catch((error) => console.warn("parley: media report not taken", error));
  }

  toggle(kind, button, onLabel, offLabel) {
    const tracks = kind === "audio" ? this.local.getAudioTracks() : this.local.getVideoTracks();
    const turnOff = button.getAttribute("aria-pressed") !== "true";
    tracks.forEach((track) => { track.enabled = !turnOff; });
    button.setAttribute("aria-pressed", String(turnOff));
    button.textContent = turnOff ? offLabel : onLabel;
  }

  startTimer() {
    if (this.timerId) return;
    const since = Date.now();
    const tick = () => { this.timer.textContent = formatDuration((Date.now() - since) / 1000); };
    tick();
    this.timerId = setInterval(tick, 1000);
  }

  async hangup() {
    this.hangupButton.disabled = true;
    try {
      this.manager.onCall(await this.api.calls.hangup(this.call.id));
    } catch (error) {
      this.hangupButton.disabled = false;
      this.status.textContent = `Could not hang up: ${error.message}`;
    }
  }

  stopMedia() {
    if (this.local) this.local.getTracks().forEach((track) => track.stop());
    if (this.pc) this.pc.close();
    this.local = null;
    this.pc = null;
  }

  /** Stop everything this call holds: media, peer connection, subscriptions, timer, panel. */
  close() {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timerId);
    this.stopMedia();
    this.unfollow();
    this.panel.remove();
    if (this.manager.active === this) this.manager.active = null;
  }
}
