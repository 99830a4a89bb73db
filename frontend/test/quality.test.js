import assert from "node:assert/strict";
import { test } from "node:test";

import { QualitySampler, hasMeasure, qualityWords } from "../src/quality.js";

// Shaped as Chromium's getStats() gives them (the fields the sampler reads).
function report({ at, bytesIn, bytesOut, received, lost, rtt = 0.042, jitter = 0.0031, fps = 29.8 }) {
  return new Map(Object.entries({
    T1: { id: "T1", type: "transport", timestamp: at, selectedCandidatePairId: "CP1" },
    CP1: { id: "CP1", type: "candidate-pair", timestamp: at, currentRoundTripTime: rtt, localCandidateId: "L1", nominated: true, state: "succeeded" },
    CP2: { id: "CP2", type: "candidate-pair", timestamp: at, currentRoundTripTime: 9, localCandidateId: "L2", state: "failed" },
    L1: { id: "L1", type: "local-candidate", timestamp: at, candidateType: "srflx" },
    L2: { id: "L2", type: "local-candidate", timestamp: at, candidateType: "relay" },
    IA: { id: "IA", type: "inbound-rtp", kind: "audio", timestamp: at, jitter, bytesReceived: bytesIn / 4, packetsReceived: received / 2, packetsLost: lost / 2 },
    IV: { id: "IV", type: "inbound-rtp", kind: "video", timestamp: at, framesPerSecond: fps, frameWidth: 640, frameHeight: 480, bytesReceived: (3 * bytesIn) / 4, packetsReceived: received / 2, packetsLost: lost / 2 },
    OA: { id: "OA", type: "outbound-rtp", kind: "audio", timestamp: at, bytesSent: bytesOut },
  }));
}

test("the first report gives the instant measures; rates need a second one", () => {
  const sampler = new QualitySampler();
  const first = sampler.sample(report({ at: 1000, bytesIn: 0, bytesOut: 0, received: 0, lost: 0 }));
  assert.deepEqual(first, {
    rtt_ms: 42, candidate_type: "srflx", jitter_ms: 3.1, frame_rate: 29.8, frame_width: 640, frame_height: 480,
  });
  // 4 s later: 400 kB in (800 kbit/s), 200 kB out, 196 packets received and 4 lost (2 %).
  const second = sampler.sample(report({ at: 5000, bytesIn: 400000, bytesOut: 200000, received: 196, lost: 4, rtt: 0.3 }));
  assert.equal(second.bitrate_in_kbps, 800);
  assert.equal(second.bitrate_out_kbps, 400);
  assert.equal(second.loss_percent, 2);
  assert.equal(second.rtt_ms, 300);
});

test("the selected pair is the transport's, not any pair", () => {
  const sample = new QualitySampler().sample(report({ at: 1, bytesIn: 0, bytesOut: 0, received: 0, lost: 0 }));
  assert.equal(sample.candidate_type, "srflx"); // not CP2's relay candidate
});

test("a report without media stats gives what it has", () => {
  const sampler = new QualitySampler();
  const empty = sampler.sample(new Map());
  assert.deepEqual(empty, {});
  assert.equal(hasMeasure(empty), false);
  assert.equal(hasMeasure({ rtt_ms: 0 }), true);
});

test("counters that go backwards (a new stream) never give negative rates", () => {
  const sampler = new QualitySampler();
  sampler.sample(report({ at: 1000, bytesIn: 9000, bytesOut: 9000, received: 90, lost: 9 }));
  const after = sampler.sample(report({ at: 2000, bytesIn: 0, bytesOut: 0, received: 0, lost: 0 }));
  assert.equal(after.bitrate_in_kbps, 0);
  assert.equal(after.loss_percent, undefined);
});

test("a sample in words", () => {
  assert.equal(qualityWords({ rtt_ms: 41.6, loss_percent: 0.04, bitrate_in_kbps: 811.7, candidate_type: "relay" }),
    "RTT 42 ms · loss 0 % · 812 kbit/s in · via TURN");
  assert.equal(qualityWords(null), "");
});

test("a measure as chart columns: shared times, one column per party, gaps as null", async () => {
  const { chartColumns } = await import("../src/quality.js");
  const samples = [
    { id: 1, sender: 7, created_at: "2026-12-05T10:00:00Z", rtt_ms: 40 },
    { id: 2, sender: 8, created_at: "2026-12-05T10:00:01Z", rtt_ms: 55 },
    { id: 3, sender: 7, created_at: "2026-12-05T10:00:04Z", rtt_ms: 42 },
    { id: 4, sender: 9, created_at: "2026-12-05T10:00:05Z", rtt_ms: 1 }, // not a party
    { id: 5, sender: 8, created_at: "2026-12-05T10:00:05Z", loss_percent: 1 }, // no rtt
  ];
  const t0 = Date.parse("2026-12-05T10:00:00Z") / 1000;
  assert.deepEqual(chartColumns(samples, [7, 8], "rtt_ms"), [
    [t0, t0 + 1, t0 + 4, t0 + 5],
    [40, null, 42, null],
    [null, 55, null, null],
  ]);
});

test("the worst rating of several, a missing one counting as good", async () => {
  const { worstRating } = await import("../src/quality.js");
  assert.equal(worstRating("good", "poor"), "poor");
  assert.equal(worstRating(undefined, "fair"), "fair");
  assert.equal(worstRating(null, undefined), "good");
});
