import assert from "node:assert/strict";
import { test } from "node:test";

import { CONNECT_MS, PeerCall, RECOVER_MS, RESTART_AFTER_MS, sendsVideo } from "../src/peer.js";
import { SAMPLE_EVERY_MS } from "../src/quality.js";

const ME = 1;
const THEM = 2;
const SDP_AV = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendrecv\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=sendrecv\r\n";
const SDP_AUDIO_ONLY = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendrecv\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\n";

/** Just enough of RTCPeerConnection: records what is done to it; the test drives its state. */
class FakePeerConnection {
  static made = [];

  constructor(config) {
    this.config = config;
    this.listeners = {};
    this.log = [];
    this.tracks = [];
    this.transceivers = [];
    this.candidates = [];
    this.connectionState = "new";
    this.signalingState = "stable";
    this.localDescription = null;
    this.remoteDescription = null;
    this.stats = new Map();
    this.offers = 0;
    FakePeerConnection.made.push(this);
  }

  addEventListener(name, handler) { (this.listeners[name] ??= []).push(handler); }
  fire(name, event = {}) { (this.listeners[name] ?? []).forEach((handler) => handler(event)); }
  goes(state) { this.connectionState = state; this.fire("connectionstatechange"); }
  addTrack(track) { this.tracks.push(track.kind); }
  addTransceiver(kind, init) { this.transceivers.push([kind, init.direction]); }
  async createOffer(options) { this.offers += 1; this.log.push(["offer", options ?? null]); return { type: "offer", sdp: `${SDP_AV}offer ${this.offers}` }; }
  async createAnswer() { return { type: "answer", sdp: `${SDP_AV}answer` }; }
  async setLocalDescription(description) {
    this.localDescription = description;
    this.signalingState = description.type === "offer" ? "have-local-offer" : "stable";
  }
  async setRemoteDescription(description) {
    this.remoteDescription = description;
    this.signalingState = description.type === "offer" ? "have-remote-offer" : "stable";
    this.log.push(["remote", description.type]);
  }
  async addIceCandidate(candidate) {
    if (!this.remoteDescription) throw new Error("no remote description");
    this.candidates.push(candidate ? candidate.candidate : null);
  }
  async getStats() { return this.stats; }
  close() { this.closedByCall = true; }
}

const track = (kind) => ({ kind, enabled: true, stopped: false, stop() { this.stopped = true; } });
const stream = (...kinds) => {
  const tracks = kinds.map(track);
  return {
    tracks,
    getTracks: () => tracks,
    getAudioTracks: () => tracks.filter((t) => t.kind === "audio"),
    getVideoTracks: () => tracks.filter((t) => t.kind === "video"),
  };
};

/** Timers the test moves by hand. */
class Clock {
  constructor() { this.now = 0; this.jobs = new Map(); this.next = 1; }
  setTimeout(fn, ms) { const id = this.next++; this.jobs.set(id, { fn, at: this.now + ms }); return id; }
  setInterval(fn, ms) { const id = this.next++; this.jobs.set(id, { fn, at: this.now + ms, every: ms }); return id; }
  clearTimeout(id) { this.jobs.delete(id); }
  clearInterval(id) { this.jobs.delete(id); }
  advance(ms) {
    const until = this.now + ms;
    for (;;) {
      const due = [...this.jobs.entries()].filter(([, job]) => job.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      const [id, job] = due;
      this.now = job.at;
      if (job.every) job.at += job.every; else this.jobs.delete(id);
      job.fn();
    }
    this.now = until;
  }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

function setUp({ role = "caller", devices = (c) => Promise.resolve(stream(...(c.video ? ["audio", "video"] : ["audio"]))), secure = true } = {}) {
  const sent = { descriptions: [], candidates: [], media: [], quality: [] };
  const events = [];
  const clock = new Clock();
  const asked = [];
  const call = new PeerCall({
    callId: 9, me: ME, role, secure, timers: clock,
    RTCPeerConnection: FakePeerConnection,
    getUserMedia: (constraints) => { asked.push(constraints); return devices(constraints); },
    send: {
      description: async (d) => { sent.descriptions.push(d); },
      candidate: async (c) => { sent.candidates.push(c); },
      media: async (m) => { sent.media.push(m); },
      quality: async (s) => { sent.quality.push(s); return { ...s, rating: "good" }; },
    },
  });
  for (const name of ["status", "local", "remote", "remoteVideo", "notice", "quality", "failed"]) {
    call.on(name, (...args) => events.push([name, ...args]));
  }
  return { call, sent, events, clock, asked };
}

const row = (id, fields) => ({ id, call: 9, sender: THEM, ...fields });

test("the caller offers, applies the answer, and adds the candidates that came before it", async () => {
  const { call, sent } = setUp();
  await call.startMedia();
  assert.deepEqual(call.pc.tracks, ["audio", "video"]);
  await call.offer();
  assert.equal(sent.descriptions[0].type, "offer");
  await call.onCandidate(row(1, { candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host", sdp_mid: "0", sdp_mline_index: 0 }));
  assert.deepEqual(call.pc.candidates, []); // held: no remote description yet
  await call.onDescription(row(2, { type: "answer", sdp: SDP_AV }));
  await call.onDescription(row(2, { type: "answer", sdp: SDP_AV })); // the list repeats the push
  assert.deepEqual(call.pc.log.filter(([what]) => what === "remote"), [["remote", "answer"]]);
  assert.equal(call.pc.candidates.length, 1);
});

test("the callee answers an offer", async () => {
  const { call, sent } = setUp({ role: "callee" });
  await call.startMedia();
  await call.onDescription(row(1, { type: "offer", sdp: SDP_AV }));
  assert.deepEqual(sent.descriptions.map((d) => d.type), ["answer"]);
});

test("the status follows the connection, and connected is told to Parley once", async () => {
  const { call, sent, events } = setUp();
  await call.startMedia();
  const pc = call.pc;
  pc.goes("connecting");
  pc.goes("connected");
  pc.goes("disconnected");
  pc.goes("connected");
  const statuses = events.filter(([name]) => name === "status").map(([, status, words]) => [status, words]);
  assert.deepEqual(statuses, [
    ["starting", "Starting camera and microphone…"], ["connecting", "Connecting…"], ["connected", "Connected"],
    ["reconnecting", "Reconnecting…"], ["connected", "Connected"],
  ]);
  assert.deepEqual(sent.media, [{ state: "connected" }]);
});

test("a failed connection is restarted by the caller, with a new offer over sdp", async () => {
  const { call, sent, clock } = setUp();
  await call.startMedia();
  await call.offer();
  await call.onDescription(row(1, { type: "answer", sdp: SDP_AV }));
  call.pc.goes("connected");
  call.pc.goes("failed");
  await settle();
  assert.deepEqual(call.pc.log.filter(([what]) => what === "offer").map(([, options]) => options), [null, { iceRestart: true }]);
  assert.equal(sent.descriptions.length, 2);
  call.pc.goes("connected");
  clock.advance(RECOVER_MS * 2);
  assert.equal(call.closed, false);
  assert.deepEqual(sent.media, [{ state: "connected" }]);
});

test("a connection that stays disconnected is restarted by the caller without waiting for failed", async () => {
  const { call, sent, clock } = setUp();
  await call.startMedia();
  await call.offer();
  await call.onDescription(row(1, { type: "answer", sdp: SDP_AV }));
  call.pc.goes("connected");
  call.pc.goes("disconnected");
  clock.advance(RESTART_AFTER_MS - 1);
  await settle();
  assert.equal(sent.descriptions.length, 1);
  clock.advance(1);
  await settle();
  assert.deepEqual(call.pc.log.filter(([what]) => what === "offer").at(-1), ["offer", { iceRestart: true }]);
  assert.equal(sent.descriptions.length, 2);
  // Failed while the restart's offer is out: no second offer to cross it…
  call.pc.goes("failed");
  await settle();
  assert.equal(sent.descriptions.length, 2);
  // …until it is answered; and no more than two restarts in all.
  await call.onDescription(row(2, { type: "answer", sdp: SDP_AV }));
  await settle();
  assert.equal(sent.descriptions.length, 3);
  await call.onDescription(row(3, { type: "answer", sdp: SDP_AV }));
  call.pc.goes("failed");
  await settle();
  assert.equal(sent.descriptions.length, 3);
});

test("a call that never connects ends as ice_failed, saying so", async () => {
  const { call, sent, events, clock } = setUp();
  await call.startMedia();
  clock.advance(CONNECT_MS - 1);
  assert.equal(call.closed, false);
  clock.advance(1);
  assert.deepEqual(sent.media, [{ state: "failed", reason: "ice_failed" }]);
  assert.match(events.find(([name]) => name === "failed")[2], /could not connect/);
});

test("hung up before the media started: no camera, no peer connection", async () => {
  const { call, asked } = setUp();
  call.close();
  await call.startMedia();
  assert.equal(call.pc, null);
  assert.deepEqual(asked, []);
});

test("a sample that comes back after the call closed is not shown", async () => {
  const { call, sent, events } = setUp();
  await call.startMedia();
  call.pc.stats = new Map([["CP", { id: "CP", type: "candidate-pair", nominated: true, state: "succeeded", currentRoundTripTime: 0.05, timestamp: 1 }]]);
  call.pc.goes("connected");
  call.close();
  await settle();
  assert.equal(sent.quality.length, 0);
  assert.equal(events.filter(([name]) => name === "quality").length, 0);
});

test("a drop that heals by itself is not restarted", async () => {
  const { call, sent, clock } = setUp();
  await call.startMedia();
  await call.offer();
  call.pc.goes("connected");
  call.pc.goes("disconnected");
  call.pc.goes("connected");
  clock.advance(RECOVER_MS * 2);
  await settle();
  assert.equal(sent.descriptions.length, 1);
  assert.equal(call.closed, false);
});

test("the callee does not offer when the connection fails: it answers the caller's restart", async () => {
  const { call, sent } = setUp({ role: "callee" });
  await call.startMedia();
  await call.onDescription(row(1, { type: "offer", sdp: SDP_AV }));
  call.pc.goes("failed");
  await settle();
  assert.equal(call.pc.offers, 0);
  await call.onDescription(row(2, { type: "offer", sdp: `${SDP_AV}restart` }));
  assert.deepEqual(sent.descriptions.map((d) => d.type), ["answer", "answer"]);
});

test("a connection that does not come back ends the call as ice_failed", async () => {
  const { call, sent, events, clock } = setUp();
  await call.startMedia();
  call.pc.goes("connected");
  call.pc.goes("disconnected");
  clock.advance(RECOVER_MS - 1);
  assert.equal(call.closed, false);
  clock.advance(1);
  assert.deepEqual(sent.media.at(-1), { state: "failed", reason: "ice_failed" });
  assert.equal(events.find(([name]) => name === "failed")[1], "ice_failed");
  assert.equal(call.closed, true);
  assert.equal(call.pc.closedByCall, true);
});

test("without a camera the call goes on with audio only, still receiving video", async () => {
  const devices = (constraints) => (constraints.video
    ? Promise.reject(new Error("Permission denied")) : Promise.resolve(stream("audio")));
  const { call, events, asked } = setUp({ devices });
  await call.startMedia();
  assert.deepEqual(asked, [{ audio: true, video: true }, { audio: true }]);
  assert.deepEqual(call.pc.tracks, ["audio"]);
  assert.deepEqual(call.pc.transceivers, [["video", "recvonly"]]);
  assert.deepEqual(events.find(([name]) => name === "local")[2], { audioOnly: true });
  assert.match(events.find(([name]) => name === "notice")[1], /camera is unavailable \(Permission denied\): audio only/);
  assert.equal(call.closed, false);
});

test("without a microphone either the call ends as user_media_failed, saying why", async () => {
  const { call, sent, events } = setUp({ devices: () => Promise.reject(new Error("Requested device not found")) });
  await call.startMedia();
  assert.deepEqual(sent.media, [{ state: "failed", reason: "user_media_failed" }]);
  assert.match(events.find(([name]) => name === "failed")[2], /Requested device not found/);
  assert.equal(call.closed, true);
});

test("on a page that is not HTTPS or localhost it says so", async () => {
  const { call, events, asked } = setUp({ secure: false });
  await call.startMedia();
  assert.deepEqual(asked, []);
  assert.match(events.find(([name]) => name === "failed")[2], /need HTTPS or localhost/);
});

test("the other party's audio-only description is noticed", async () => {
  const { call, events } = setUp();
  await call.startMedia();
  await call.offer();
  await call.onDescription(row(1, { type: "answer", sdp: SDP_AUDIO_ONLY }));
  assert.deepEqual(events.filter(([name]) => name === "remoteVideo"), [["remoteVideo", false]]);
  assert.equal(sendsVideo(SDP_AV), true);
  assert.equal(sendsVideo("v=0\r\nm=audio 9 x 111\r\n"), false);
  assert.equal(sendsVideo("v=0\r\nm=video 0 x 96\r\na=sendrecv\r\n"), false);
});

test("once connected it samples getStats and reports every few seconds", async () => {
  const { call, sent, events, clock } = setUp();
  await call.startMedia();
  call.pc.stats = new Map([["CP", { id: "CP", type: "candidate-pair", nominated: true, state: "succeeded", currentRoundTripTime: 0.05, timestamp: 1 }]]);
  call.pc.goes("connected");
  await settle();
  clock.advance(SAMPLE_EVERY_MS);
  await settle();
  clock.advance(SAMPLE_EVERY_MS);
  await settle();
  assert.equal(sent.quality.length, 3);
  assert.equal(sent.quality[0].rtt_ms, 50);
  assert.equal(events.filter(([name]) => name === "quality")[0][1].rating, "good");
  call.close();
  clock.advance(SAMPLE_EVERY_MS * 3);
  await settle();
  assert.equal(sent.quality.length, 3);
});
