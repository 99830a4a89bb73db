/**
 * Everything the app says in words about calls, errors and people typing. Pure functions.
 */

const FINAL_STATES = new Set(["rejected", "cancelled", "missed", "busy", "unavailable", "ended"]);
const RANK = { ringing: 0, accepted: 1 };

export function displayName(user) {
  return (user && (user.display_name || user.username)) || "Someone";
}

export function isFinal(call) {
  return FINAL_STATES.has(call.state);
}

/** Of two copies of one call, the later one (states only move forward). */
export function laterCall(a, b) {
  if (!a) return b;
  if (!b) return a;
  const rank = (call) => (isFinal(call) ? 2 : RANK[call.state] ?? 0);
  return rank(b) >= rank(a) ? b : a;
}

/** The other party of a call, seen from user ``me``. */
export function otherParty(call, me) {
  return call.caller.id === me ? call.callee : call.caller;
}

/** What a call's state means to user ``me``, in words. */
export function callWords(call, me) {
  const outgoing = call.caller.id === me;
  const other = displayName(otherParty(call, me));
  switch (call.state) {
    case "ringing":
      return outgoing ? `Calling ${other}…` : `${other} is calling you`;
    case "accepted":
      return `In a call with ${other}`;
    case "rejected":
      return outgoing ? `${other} declined the call` : `You declined the call from ${other}`;
    case "cancelled":
      return outgoing ? `You cancelled the call to ${other}` : `Missed call from ${other}`;
    case "missed":
      return outgoing ? `${other} did not answer` : `Missed call from ${other}`;
    case "busy":
      return outgoing ? `${other} is busy in another call` : `Missed call from ${other} (you were in another call)`;
    case "unavailable":
      return outgoing ? `${other} is not online: the call could not ring` : `Missed call from ${other} (you were offline)`;
    case "ended":
      return endedWords(call, me, other);
    default:
      return `Call ${call.state}`;
  }
}

// Why a call ended, when something went wrong (the parties' clients report media failures).
const FAILURE_WORDS = {
  peer_gone: "the connection was lost",
  ice_failed: "the two devices could not connect",
  user_media_failed: "a camera or microphone could not start",
};

// The same, briefly, for the dashboard's state column.
const FAILURE_NOTES = {
  peer_gone: "connection lost",
  ice_failed: "could not connect",
  user_media_failed: "no camera or microphone",
};

function endedWords(call, me, other) {
  const length = call.duration != null ? ` after ${formatDuration(call.duration)}` : "";
  const why = FAILURE_WORDS[call.end_reason];
  return why ? `Call with ${other} ended: ${why}${length}` : `Call with ${other} ended${length}`;
}

/** The state column of the dashboard. */
export function stateWords(call) {
  const words = {
    ringing: "Ringing",
    accepted: "In progress",
    rejected: "Declined",
    cancelled: "Cancelled",
    missed: "Missed",
    busy: "Busy",
    unavailable: "Unavailable",
    ended: "Ended",
  };
  const word = words[call.state] || call.state;
  const why = FAILURE_NOTES[call.end_reason];
  return why ? `${word} (${why})` : word;
}

/** 75.4 → "1:15"; 3725 → "1:02:05". */
export function formatDuration(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** A set-up time: tenths of a second under a minute ("1.4 s"), as a duration beyond. */
export function formatSetUp(seconds) {
  return seconds < 60 ? `${Math.max(0, seconds).toFixed(1)} s` : formatDuration(seconds);
}

/**
 * An error frame's ``errors`` or an HTTP error's body (strings, or objects of field → messages)
 * as sentences a person reads: "A room with this name already exists.", "Name is required.",
 * "Message: Write 1 to 4000 characters."
 */
export function errorText(errors, fallback = "Something went wrong.") {
  const parts = [];
  const add = (value, field) => {
    if (value == null) return;
    if (Array.isArray(value)) value.forEach((item) => add(item, field));
    else if (typeof value === "object") Object.entries(value).forEach(([k, v]) => add(v, k));
    else parts.push(field && field !== "non_field_errors" ? fieldSentence(String(value), field) : sentence(String(value)));
  };
  add(errors);
  return parts.length ? parts.join(" ") : fallback;
}

// What the app's forms call the fields the server names differently.
const FIELD_LABELS = { body: "Message", display_name: "Display name", is_private: "Private" };

/** One message about ``field``, with the field named once, as the form names it. */
function fieldSentence(message, field) {
  const label = capitalised(FIELD_LABELS[field] ?? field.replace(/_/g, " "));
  const noun = label.toLowerCase();
  // Django's unique check: "room with this name already exists."
  const taken = message.match(/^([a-z][\w ]*) with this (.+) already exists\.?$/);
  if (taken) return `${/^[aeiou]/i.test(taken[1]) ? "An" : "A"} ${taken[1]} with this ${taken[2]} already exists.`;
  const unknown = message.match(/^Invalid pk "(.*)" - object does not exist\.?$/);
  if (unknown) return `There is no ${noun} #${unknown[1]}.`;
  if (/^this field\b/i.test(message)) return sentence(message.replace(/^this field/i, label));
  if (/\bthis field\b/i.test(message)) return sentence(message.replace(/\bthis field\b/i, `the ${noun}`));
  // "This password is too short.", "You cannot call yourself.": already clear on their own.
  const named = message.toLowerCase().includes(noun) || message.includes(field);
  if (named || /^you\b/i.test(message)) return sentence(message);
  return `${label}: ${sentence(message)}`;
}

function capitalised(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Capitalised, with a full stop. */
function sentence(text) {
  const words = capitalised(text.trim());
  return /[.!?…]$/.test(words) ? words : `${words}.`;
}

/** "Ann is typing…", "Ann and Bo are typing…", "Several people are typing…", or "". */
export function typingWords(names) {
  if (names.length === 0) return "";
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return "Several people are typing…";
}
