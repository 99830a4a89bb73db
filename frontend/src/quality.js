/**
 * Call quality as the browser measures it: successive `RTCPeerConnection.getStats()` reports
 * become the compact samples Parley's `quality` stream takes (docs/protocol.md, "The `quality`
 * stream"). Rates (bitrate, loss) are counted between two reports, so the first report of a
 * call gives no rate.
 *
 * Pure (stats in, sample out) so node's test runner covers it with recorded reports.
 */

// How often a party samples and reports (the server allows 5 per 10 s per person).
export const SAMPLE_EVERY_MS = 4000;

const round = (value, digits = 1) => {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
};

/** Every stats object of a report (an RTCStatsReport is a Map; recorded ones may be arrays). */
function statsOf(report) {
  if (!report) return [];
  if (typeof report.values === "function") return [...report.values()];
  return Object.values(report);
}

/** The candidate pair the transport uses now, by the transport's own word when it gives it. */
function selectedPair(stats, byId) {
  const transport = stats.find((s) => s.type === "transport" && s.selectedCandidatePairId);
  if (transport) return byId.get(transport.selectedCandidatePairId) ?? null;
  return stats.find((s) => s.type === "candidate-pair" && s.nominated && s.state === "succeeded") ?? null;
}

export class QualitySampler {
  constructor() {
    this.previous = null;
  }

  /** The sample for this report: only the measures the report has. */
  sample(report) {
    const stats = statsOf(report);
    const byId = new Map(stats.map((s) => [s.id, s]));
    const inbound = stats.filter((s) => s.type === "inbound-rtp");
    const outbound = stats.filter((s) => s.type === "outbound-rtp");
    const sum = (list, field) => list.reduce((total, s) => total + (s[field] ?? 0), 0);
    const now = {
      at: Math.max(0, ...stats.map((s) => s.timestamp ?? 0)),
      bytesIn: sum(inbound, "bytesReceived"),
      bytesOut: sum(outbound, "bytesSent"),
      received: sum(inbound, "packetsReceived"),
      lost: sum(inbound, "packetsLost"),
    };
    const sample = {};

    const pair = selectedPair(stats, byId);
    if (pair && typeof pair.currentRoundTripTime === "number") sample.rtt_ms = round(pair.currentRoundTripTime * 1000);
    const local = pair && byId.get(pair.localCandidateId);
    if (local && local.candidateType) sample.candidate_type = local.candidateType;

    const audio = inbound.find((s) => s.kind === "audio" && typeof s.jitter === "number");
    if (audio) sample.jitter_ms = round(audio.jitter * 1000);
    const video = inbound.find((s) => s.kind === "video");
    if (video) {
      if (typeof video.framesPerSecond === "number") sample.frame_rate = round(video.framesPerSecond);
      if (video.frameWidth) sample.frame_width = video.frameWidth;
      if (video.frameHeight) sample.frame_height = video.frameHeight;
    }

    const before = this.previous;
    if (before && now.at > before.at) {
      const kbitsPerByte = 8 / (now.at - before.at); // timestamps in ms: bytes·8/ms = kbit/s
      sample.bitrate_in_kbps = round(Math.max(0, now.bytesIn - before.bytesIn) * kbitsPerByte);
      sample.bitrate_out_kbps = round(Math.max(0, now.bytesOut - before.bytesOut) * kbitsPerByte);
      const lost = Math.max(0, now.lost - before.lost);
      const expected = Math.max(0, now.received - before.received) + lost;
      if (expected > 0) sample.loss_percent = round((100 * lost) / expected, 2);
    }
    this.previous = now;
    return sample;
  }
}

const RATINGS = ["good", "fair", "poor"];

/** The worst of Parley's ratings (a missing one counts as good). */
export function worstRating(...ratings) {
  return RATINGS[Math.max(0, ...ratings.map((rating) => RATINGS.indexOf(rating ?? "good")))];
}

/** Whether a sample has something Parley takes (a report needs one measure at least). */
export function hasMeasure(sample) {
  return ["rtt_ms", "jitter_ms", "loss_percent", "bitrate_in_kbps", "bitrate_out_kbps", "frame_rate"]
    .some((name) => typeof sample[name] === "number");
}

/** A sample in a few words: "RTT 42 ms · loss 0 % · 812 kbit/s in". */
export function qualityWords(sample) {
  if (!sample) return "";
  const parts = [];
  if (sample.rtt_ms != null) parts.push(`RTT ${Math.round(sample.rtt_ms)} ms`);
  if (sample.loss_percent != null) parts.push(`loss ${round(sample.loss_percent)} %`);
  if (sample.bitrate_in_kbps != null) parts.push(`${Math.round(sample.bitrate_in_kbps)} kbit/s in`);
  if (sample.candidate_type === "relay") parts.push("via TURN");
  return parts.join(" · ");
}

/**
 * One measure of a call's samples as chart columns: the sample times (seconds), then one
 * column per party (`null` where that party has no sample at that time).
 */
export function chartColumns(samples, parties, field) {
  const times = [...new Set(samples.map((sample) => Date.parse(sample.created_at) / 1000))].sort((a, b) => a - b);
  const row = new Map(times.map((time, index) => [time, index]));
  const columns = parties.map(() => times.map(() => null));
  for (const sample of samples) {
    const party = parties.indexOf(sample.sender);
    const value = sample[field];
    if (party >= 0 && typeof value === "number") columns[party][row.get(Date.parse(sample.created_at) / 1000)] = value;
  }
  return [times, ...columns];
}
