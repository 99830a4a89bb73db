/**
 * One party's side of a call's media, without the page: the RTCPeerConnection, the camera and
 * microphone, offer and answer, candidates, what the connection's state means to a person, the
 * ICE restart when it fails, and the quality samples. The call panel (calls.js) draws what this
 * says; Parley's streams carry what it sends (`send`).
 *
 * Everything from outside is passed in (the RTCPeerConnection class, getUserMedia, timers), so
 * node's test runner drives it with a fake peer connection.
 *
 * Events (`on(name, handler)`):
 *   status (status, words)   starting | connecting | connected | reconnecting | failed
 *   local (stream, {audioOnly})
 *   remote (stream)
 *   remoteVideo (sending)    whether the other party sends video (false: audio only)
 *   notice (words)           something the person should know (their camera is unavailable)
 *   quality (sample)         my own sample, as Parley stored and rated it
 *   failed (reason, words)   ice_failed or user_media_failed: the call is over
 */

import { QualitySampler, SAMPLE_EVERY_MS, hasMeasure } from "./quality.js";
import { SignalInbox } from "./signaling.js";

// After the connection drops or fails: how long it may take to come back (by itself, or by an
// ICE restart) before the call ends as ice_failed.
export const RECOVER_MS = 15000;
// The first connection may take longer (the other party may still be allowing their camera);
// past this without media the call ends as ice_failed.
export const CONNECT_MS = 45000;
// A dropped connection often comes back by itself within a few seconds; past this the caller
// restarts ICE without waiting for "failed" (which Chromium reports only after ~30 s).
export const RESTART_AFTER_MS = 4000;
// ICE restarts tried per call before giving up.
const RESTARTS = 2;

export const STATUS_WORDS = {
  starting: "Starting camera and microphone…",
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
};

/** Whether a session description sends video to its receiver (a recvonly or inactive video
 * section, a rejected one, or none at all: audio only). */
export function sendsVideo(sdp) {
  const sections = sdp.split(/\r?\n(?=m=)/).filter((section) => section.startsWith("m=video"));
  return sections.some((section) => !/^m=video 0 /.test(section) && !/\r?\na=(recvonly|inactive)\b/.test(section));
}

export class PeerCall {
  constructor({
    callId, me, role, send, iceServers = [],
    RTCPeerConnection = globalThis.RTCPeerConnection,
    getUserMedia = (constraints) => globalThis.navigator.mediaDevices.getUserMedia(constraints),
    timers = globalThis,
    secure = globalThis.isSecureContext !== false,
  }) {
    this.callId = callId;
    this.role = role;
    this.send = send;
    this.iceServers = iceServers;
    this.RTCPeerConnection = RTCPeerConnection;
    this.getUserMedia = getUserMedia;
    this.timers = timers;
    this.secure = secure;
    this.inbox = new SignalInbox(me);
    this.handlers = new Map();
    this.chain = Promise.resolve();
    this.pc = null;
    this.local = null;
    this.audioOnly = false;
    this.status = null;
    this.closed = false;
    this.reportedConnected = false;
    this.restarts = 0;
    this.recoverTimer = null;
    this.restartTimer = null;
    this.sampleTimer = null;
    this.remoteVideo = null;
    this.sampler = new QualitySampler();
  }

  on(event, handler) {
    this.handlers.set(event, [...(this.handlers.get(event) ?? []), handler]);
    return this;
  }

  emit(event, ...args) {
    for (const handler of this.handlers.get(event) ?? []) handler(...args);
  }

  /** Run peer-connection steps one at a time, in order; a failing step is reported, not lost. */
  run(step) {
    this.chain = this.chain
      .then(() => (this.closed ? null : step()))
      .catch((error) => this.emit("notice", `Problem: ${error.message}`));
    return this.chain;
  }

  setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    this.emit("status", status, STATUS_WORDS[status] ?? "");
  }

  // --- Media ------------------------------------------------------------------------------

  /** The peer connection, then the camera and microphone; audio only when only the camera fails. */
  async startMedia() {
    if (this.closed) return; // hung up while the ICE servers were fetched
    this.setStatus("starting");
    const pc = new this.RTCPeerConnection({ iceServers: this.iceServers });
    this.pc = pc;
    pc.addEventListener("icecandidate", (event) => this.sendCandidate(event.candidate));
    pc.addEventListener("track", (event) => this.emit("remote", event.streams[0] ?? null, event.track));
    pc.addEventListener("connectionstatechange", () => this.connectionChanged(pc.connectionState));
    const local = await this.openDevices();
    if (!local) return;
    if (this.closed) {
      local.getTracks().forEach((track) => track.stop());
      return;
    }
    this.local = local;
    for (const track of local.getTracks()) pc.addTrack(track, local);
    // Without a camera, still receive the other party's video.
    if (this.audioOnly && this.role === "caller") pc.addTransceiver("video", { direction: "recvonly" });
    this.emit("local", local, { audioOnly: this.audioOnly });
    this.setStatus("connecting");
    this.recoverWithin(CONNECT_MS, "The call could not connect: it has ended.");
  }

  async openDevices() {
    if (!this.secure) {
      return this.fail("user_media_failed", "Camera and microphone need HTTPS or localhost: the call has ended.");
    }
    try {
      return await this.getUserMedia({ audio: true, video: true });
    } catch (cameraError) {
      if (this.closed) return null;
      try {
        const audio = await this.getUserMedia({ audio: true });
        this.audioOnly = true;
        this.emit("notice", `Your camera is unavailable (${cameraError.message}): audio only.`);
        return audio;
      } catch (error) {
        return this.fail("user_media_failed",
          `Camera and microphone unavailable (${error.message}): the call has ended.`);
      }
    }
  }

  /** Turn my microphone or camera on or off (the track stays: no renegotiation). */
  setEnabled(kind, enabled) {
    if (!this.local) return;
    const tracks = kind === "audio" ? this.local.getAudioTracks() : this.local.getVideoTracks();
    tracks.forEach((track) => { track.enabled = enabled; });
  }

  // --- Offer, answer, candidates -----------------------------------------------------------

  async offer({ iceRestart = false } = {}) {
    const offer = await this.pc.createOffer(iceRestart ? { iceRestart: true } : undefined);
    await this.pc.setLocalDescription(offer);
    await this.send.description({ type: "offer", sdp: this.pc.localDescription.sdp });
  }

  /** A session description row from Parley (push or list). */
  async onDescription(row) {
    const description = this.inbox.description(row);
    if (!description || !this.pc) return;
    await this.pc.setRemoteDescription(description);
    if (description.type === "answer" && this.restartWanted) {
      this.restartWanted = false;
      this.restartIce(); // wanted while an offer was out: now that it is answered
    }
    for (const candidate of this.inbox.remoteDescriptionSet()) await this.addCandidate(candidate);
    const video = sendsVideo(description.sdp);
    if (video !== this.remoteVideo) {
      this.remoteVideo = video;
      this.emit("remoteVideo", video);
    }
    if (description.type === "offer") {
      await this.pc.setLocalDescription(await this.pc.createAnswer());
      await this.send.description({ type: "answer", sdp: this.pc.localDescription.sdp });
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
      // A candidate of an ICE generation an ICE restart replaced: harmless.
      console.warn("parley: candidate refused", error);
    }
  }

  sendCandidate(candidate) {
    if (this.closed) return;
    this.send.candidate(candidate).catch((error) => console.warn("parley: candidate not sent", error));
  }

  // --- The connection's state --------------------------------------------------------------

  connectionChanged(state) {
    if (this.closed) return;
    if (state === "connected") {
      this.timers.clearTimeout(this.recoverTimer);
      this.timers.clearTimeout(this.restartTimer);
      this.recoverTimer = null;
      this.restartTimer = null;
      this.setStatus("connected");
      if (!this.reportedConnected) {
        this.reportedConnected = true;
        this.send.media({ state: "connected" }).catch(() => {});
        this.startSampling();
      }
    } else if (state === "connecting" || state === "new") {
      if (this.status !== "reconnecting") this.setStatus("connecting");
    } else if (state === "disconnected" || state === "failed") {
      this.setStatus("reconnecting");
      this.recoverWithin(RECOVER_MS);
      if (state === "failed") this.restartIce();
      else if (this.restartTimer === null) {
        this.restartTimer = this.timers.setTimeout(() => {
          this.restartTimer = null;
          if (this.status === "reconnecting") this.restartIce();
        }, RESTART_AFTER_MS);
      }
    }
  }

  /** The caller restarts ICE (one side only, so two restarts never cross); the callee answers
   * the restart's offer as any offer. */
  restartIce() {
    this.timers.clearTimeout(this.restartTimer);
    this.restartTimer = null;
    if (this.role !== "caller" || this.restarts >= RESTARTS || this.closed || !this.pc) return;
    if (this.pc.signalingState && this.pc.signalingState !== "stable") {
      this.restartWanted = true; // an offer is out: two would cross
      return;
    }
    this.restarts += 1;
    this.run(() => this.offer({ iceRestart: true }));
  }

  recoverWithin(ms, words = "The connection was lost and could not be recovered: the call has ended.") {
    if (this.recoverTimer !== null) return;
    this.recoverTimer = this.timers.setTimeout(() => {
      this.recoverTimer = null;
      if (this.status !== "connected") this.fail("ice_failed", words);
    }, ms);
  }

  // --- Quality ---------------------------------------------------------------------------

  startSampling() {
    if (this.sampleTimer !== null || typeof this.pc.getStats !== "function") return;
    this.sampleNow(); // the baseline the first rates count from
    this.sampleTimer = this.timers.setInterval(() => this.sampleNow(), SAMPLE_EVERY_MS);
  }

  async sampleNow() {
    if (this.closed || !this.pc) return;
    try {
      const sample = this.sampler.sample(await this.pc.getStats());
      if (this.closed || this.status !== "connected" || !hasMeasure(sample)) return;
      const stored = await this.send.quality(sample); // null: not sent (the socket is down)
      if (stored && !this.closed) this.emit("quality", stored);
    } catch (error) {
      console.warn("parley: quality sample not taken", error);
    }
  }

  // --- The end ---------------------------------------------------------------------------

  /** The call cannot go on: say why, tell Parley (which ends it for both), stop. */
  fail(reason, words) {
    if (this.closed) return null;
    this.setStatus("failed");
    this.emit("failed", reason, words);
    this.send.media({ state: "failed", reason }).catch(() => {});
    this.close();
    return null;
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.timers.clearTimeout(this.recoverTimer);
    this.timers.clearTimeout(this.restartTimer);
    this.timers.clearInterval(this.sampleTimer);
    if (this.local) this.local.getTracks().forEach((track) => track.stop());
    if (this.pc) this.pc.close();
  }
}
