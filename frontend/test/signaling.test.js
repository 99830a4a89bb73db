import assert from "node:assert/strict";
import { test } from "node:test";

import { SignalInbox, candidateInit, candidateRow } from "../src/signaling.js";

const ME = 1;
const THEM = 2;
const ice = (id, candidate = `candidate:${id} 1 udp 2122260223 127.0.0.1 5${id} typ host`, sender = THEM) => ({
  id, call: 9, sender, candidate, sdp_mid: "0", sdp_mline_index: 0, username_fragment: "abcd",
});

test("candidates that arrive before the description are held, then added in order", () => {
  const inbox = new SignalInbox(ME);
  assert.deepEqual(inbox.candidate(ice(1)), []);
  assert.deepEqual(inbox.candidate(ice(2)), []);
  const held = inbox.remoteDescriptionSet();
  assert.deepEqual(held.map((c) => c.candidate), [ice(1).candidate, ice(2).candidate]);
  assert.deepEqual(inbox.candidate(ice(3)).map((c) => c.candidate), [ice(3).candidate]);
  assert.deepEqual(inbox.remoteDescriptionSet(), []);
});

test("a row delivered by both the push and the list is used once", () => {
  const inbox = new SignalInbox(ME);
  inbox.remoteDescriptionSet();
  assert.equal(inbox.candidate(ice(1)).length, 1);
  assert.equal(inbox.candidate(ice(1)).length, 0);
  const offer = { id: 4, call: 9, sender: THEM, type: "offer", sdp: "v=0..." };
  assert.deepEqual(inbox.description(offer), { type: "offer", sdp: "v=0..." });
  assert.equal(inbox.description(offer), null);
});

test("our own rows (the list returns both parties') are ignored", () => {
  const inbox = new SignalInbox(ME);
  inbox.remoteDescriptionSet();
  assert.deepEqual(inbox.candidate(ice(1, undefined, ME)), []);
  assert.equal(inbox.description({ id: 1, call: 9, sender: ME, type: "offer", sdp: "v=0" }), null);
});

test("an empty candidate is the end of candidates", () => {
  const inbox = new SignalInbox(ME);
  inbox.candidate(ice(7, ""));
  assert.deepEqual(inbox.remoteDescriptionSet(), [null]);
  assert.equal(candidateInit({ candidate: "" }), null);
});

test("stored rows become RTCIceCandidateInit and back", () => {
  const init = candidateInit(ice(1));
  assert.deepEqual(init, {
    candidate: ice(1).candidate, sdpMid: "0", sdpMLineIndex: 0, usernameFragment: "abcd",
  });
  assert.deepEqual(candidateRow(9, init), {
    call: 9, candidate: ice(1).candidate, sdp_mid: "0", sdp_mline_index: 0, username_fragment: "abcd",
  });
  assert.deepEqual(candidateRow(9, null), { call: 9, candidate: "" });
  assert.deepEqual(candidateRow(9, { candidate: "" }), { call: 9, candidate: "" });
});
