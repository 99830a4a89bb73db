/**
 * The call this tab takes part in, on the page: its panel (title, timer, status, videos,
 * controls, connection quality) drawing what its PeerCall (peer.js) says, and Parley's streams
 * carrying what the PeerCall sends: descriptions on `sdp`, candidates on `ice`, media state on
 * `calls`, samples on `quality`.
 */

import { h, replace } from "./dom.js";
import { PeerCall } from "./peer.js";
import { qualityWords, worstRating } from "./quality.js";
import { candidateRow } from "./signaling.js";
import { callWords, displayName, formatDuration, isFinal, otherParty } from "./words.js";

const RATING_WORDS = { good: "Good connection", fair: "Fair connection", poor: "Poor connection" };

export class ActiveCall {
  constructor(manager, call, role) {
    this.manager = manager;
    /** @type {import("./protocol.js").Api} */
    this.api = manager.api;
    this.call = call;
    this.role = role;
    this.subscriptions = [];
    this.started = false;
    this.closed = false;
    this.mine = null; // my latest quality sample, as Parley rated it
    this.theirs = null; // the other party's
    const id = call.id;
    this.peer = new PeerCall({
      callId: id,
      me: manager.me,
      role,
      send: {
        description: ({ type, sdp }) => this.api.sdp.create({ call: id, type, sdp }),
        candidate: (candidate) => this.api.ice.create(candidateRow(id, candidate)),
        media: (report) => this.api.calls.media(id, report).then((updated) => this.manager.onCall(updated)),
        // While the socket is down a sample would wait and go late, stamped with the wrong time.
        quality: (sample) => (this.api.connection.status === "connected"
          ? this.api.quality.create(id, sample) : Promise.resolve(null)),
      },
    });
    this.buildPanel();
    this.listen();
    // Pushes sent while the socket was down are lost (an ICE restart's offer, say): fetch the
    // call's signaling again; rows already used are skipped.
    this.stopCatchingUp = this.api.connection.on("reconnect", () => this.catchUp());
  }

  get other() {
    return otherParty(this.call, this.manager.me);
  }

  buildPanel() {
    const other = displayName(this.other);
    this.title = h("h2", { class: "call-title", id: "call-title" });
    this.timer = h("p", { class: "call-timer", "aria-label": "Call duration" });
    this.status = h("p", { class: "call-status", role: "status" });
    this.note = h("p", { class: "call-note", "aria-live": "polite", hidden: true });
    this.quality = h("p", { class: "call-quality", hidden: true, "aria-label": "Connection quality" });
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
      this.note,
      this.quality,
      h("div", { class: "videos" }, this.remoteVideo, this.localVideo),
      h("div", { class: "row call-controls" }, this.muteButton, this.cameraButton, this.soundButton, this.hangupButton));
    this.renderTitle();
    replace(this.manager.panelArea, this.panel);
    // Placing or answering a call is what the person just did: take them to its controls.
    this.hangupButton.focus();
  }

  /** What the PeerCall says, drawn. */
  listen() {
    const other = displayName(this.other);
    this.peer
      .on("status", (status, words) => {
        this.status.textContent = words;
        this.panel.dataset.media = status;
        // The last sample says nothing of a connection that is down.
        if (status !== "connected") this.quality.hidden = true;
      })
      .on("local", (stream, { audioOnly }) => {
        this.localVideo.srcObject = stream;
        this.localVideo.play().catch(() => {});
        this.muteButton.disabled = false;
        this.cameraButton.disabled = audioOnly;
        if (audioOnly) this.panel.dataset.audioOnly = "true";
      })
      .on("remote", (stream, track) => this.showRemote(stream, track))
      .on("remoteVideo", (sending) => {
        this.panel.dataset.remoteVideo = String(sending);
        this.say(sending ? "" : `${other} has no camera: audio only.`, "remote");
      })
      .on("notice", (words) => this.say(words, "mine"))
      .on("quality", (sample) => {
        this.mine = sample;
        this.renderQuality();
      })
      .on("failed", (reason, words) => {
        this.status.textContent = words;
        this.manager.notify(words); // the panel closes with the call: the notice stays
      });
  }

  /** A line under the status; mine (my camera) and theirs (their camera) are kept apart. */
  say(words, whose) {
    this.notes = { ...this.notes, [whose]: words };
    const text = Object.values(this.notes).filter(Boolean).join(" ");
    this.note.textContent = text;
    this.note.hidden = !text;
  }

  renderQuality() {
    if (this.peer.status !== "connected") return;
    const rating = worstRating(this.mine?.rating, this.theirs?.rating);
    this.quality.hidden = false;
    this.quality.dataset.rating = rating;
    replace(this.quality,
      h("span", { class: `quality-badge quality-${rating}` }, RATING_WORDS[rating]),
      " ", h("span", { class: "quality-numbers" }, qualityWords(this.mine ?? this.theirs)));
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
        this.startMedia();
        this.peer.run(() => this.peer.offer());
      }
    }
  }

  /** Callee, once accepted: media first, then the signaling already waiting for us. */
  async begin() {
    this.startTimer();
    this.startMedia();
    await this.follow();
  }

  startMedia() {
    this.started = true;
    this.peer.run(async () => {
      this.peer.iceServers = (await this.api.calls.iceServers()).ice_servers;
      await this.peer.startMedia();
    });
  }

  /** Subscribe to the other party's SDP, candidates and quality, then fetch what was sent. */
  async follow() {
    const call = this.call.id;
    this.subscriptions.push(
      await this.api.sdp.subscribeCall(call, (row) => this.peer.run(() => this.peer.onDescription(row))),
      await this.api.ice.subscribeCall(call, (row) => this.peer.run(() => this.peer.onCandidate(row))),
      await this.api.quality.subscribeCall(call, (sample) => {
        this.theirs = sample;
        this.renderQuality();
      }),
    );
    if (this.closed) return this.unfollow();
    await this.catchUp();
    return null;
  }

  async catchUp() {
    if (this.closed || this.subscriptions.length === 0) return;
    try {
      const call = this.call.id;
      const [descriptions, candidates] = await Promise.all([this.api.sdp.list(call), this.api.ice.list(call)]);
      descriptions.forEach((row) => this.peer.run(() => this.peer.onDescription(row)));
      candidates.forEach((row) => this.peer.run(() => this.peer.onCandidate(row)));
    } catch (error) {
      console.warn("parley: could not fetch the call's signaling", error);
    }
  }

  unfollow() {
    this.subscriptions.forEach((subscription) => subscription.cancel());
    this.subscriptions = [];
  }

  /** `fail` of the old panel: problems with the call's steps, shown in its status. */
  fail(error) {
    if (this.closed) return;
    console.error("parley: call failed", error);
    this.status.textContent = `Problem: ${error.message}`;
  }

  showRemote(stream, track) {
    const media = stream || new MediaStream([track]);
    if (this.remoteVideo.srcObject !== media) this.remoteVideo.srcObject = media;
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

  toggle(kind, button, onLabel, offLabel) {
    const turnOff = button.getAttribute("aria-pressed") !== "true";
    this.peer.setEnabled(kind, !turnOff);
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

  /** Stop everything this call holds: media, peer connection, subscriptions, timer, panel. */
  close() {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timerId);
    this.stopCatchingUp();
    this.peer.close();
    this.unfollow();
    this.panel.remove();
    if (this.manager.active === this) this.manager.active = null;
  }
}
