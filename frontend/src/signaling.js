/**
 * What one party of a call receives on the sdp and ice streams, before it reaches the
 * RTCPeerConnection: deduplicated (a push and the catch-up list may carry the same row), the
 * party's own rows dropped, and candidates held until the remote description is set (JSEP:
 * addIceCandidate before setRemoteDescription fails).
 *
 * Pure (no RTCPeerConnection) so node's test runner covers it.
 */

export class SignalInbox {
  constructor(myUserId) {
    this.me = myUserId;
    this.seen = { sdp: new Set(), ice: new Set() };
    this.pending = [];
    this.remoteSet = false;
  }

  /** Whether this row is new and from the other party (marks it seen). */
  fresh(kind, row) {
    if (row.sender === this.me || this.seen[kind].has(row.id)) return false;
    this.seen[kind].add(row.id);
    return true;
  }

  /** A session description to apply, or null if it is a duplicate or our own. */
  description(row) {
    return this.fresh("sdp", row) ? { type: row.type, sdp: row.sdp } : null;
  }

  /** Candidates to add now: [] while the remote description is not set (they are held). */
  candidate(row) {
    if (!this.fresh("ice", row)) return [];
    const init = candidateInit(row);
    if (!this.remoteSet) {
      this.pending.push(init);
      return [];
    }
    return [init];
  }

  /** The remote description is set: every held candidate, in arrival order, to add now. */
  remoteDescriptionSet() {
    this.remoteSet = true;
    const held = this.pending;
    this.pending = [];
    return held;
  }
}

/** A stored ice row as RTCIceCandidateInit; null stands for end-of-candidates. */
export function candidateInit(row) {
  if (!row.candidate) return null;
  const init = { candidate: row.candidate, sdpMid: row.sdp_mid, sdpMLineIndex: row.sdp_mline_index };
  if (row.username_fragment) init.usernameFragment = row.username_fragment;
  return init;
}

/** The ice stream's create data for an RTCIceCandidate (null: end of candidates). */
export function candidateRow(callId, candidate) {
  if (!candidate || !candidate.candidate) {
    return { call: callId, candidate: "" };
  }
  return {
    call: callId,
    candidate: candidate.candidate,
    sdp_mid: candidate.sdpMid ?? null,
    sdp_mline_index: candidate.sdpMLineIndex ?? null,
    username_fragment: candidate.usernameFragment ?? null,
  };
}
