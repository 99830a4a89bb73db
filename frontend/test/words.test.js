import assert from "node:assert/strict";
import { test } from "node:test";

import {
  callWords, errorText, formatDuration, formatSetUp, laterCall, stateWords, typingWords,
} from "../src/words.js";

const alice = { id: 1, username: "guest-a", display_name: "Alice" };
const bob = { id: 2, username: "guest-b", display_name: "Bob" };
const call = (state, extra = {}) => ({ id: 5, caller: alice, callee: bob, state, end_reason: "", duration: null, ...extra });

test("each call state is told in words to both sides", () => {
  const cases = [
    ["ringing", {}, "Calling Bob…", "Alice is calling you"],
    ["accepted", {}, "In a call with Bob", "In a call with Alice"],
    ["rejected", {}, "Bob declined the call", "You declined the call from Alice"],
    ["cancelled", {}, "You cancelled the call to Bob", "Missed call from Alice"],
    ["missed", {}, "Bob did not answer", "Missed call from Alice"],
    ["busy", {}, "Bob is busy in another call", "Missed call from Alice (you were in another call)"],
    ["unavailable", {}, "Bob is not online: the call could not ring", "Missed call from Alice (you were offline)"],
    ["ended", { end_reason: "hangup", duration: 75.4 }, "Call with Bob ended after 1:15", "Call with Alice ended after 1:15"],
    ["ended", { end_reason: "peer_gone", duration: 3 },
      "Call with Bob ended: the connection was lost after 0:03", "Call with Alice ended: the connection was lost after 0:03"],
    ["ended", { end_reason: "ice_failed", duration: 9 },
      "Call with Bob ended: the two devices could not connect after 0:09",
      "Call with Alice ended: the two devices could not connect after 0:09"],
    ["ended", { end_reason: "user_media_failed", duration: 1 },
      "Call with Bob ended: a camera or microphone could not start after 0:01",
      "Call with Alice ended: a camera or microphone could not start after 0:01"],
  ];
  for (const [state, extra, toCaller, toCallee] of cases) {
    assert.equal(callWords(call(state, extra), alice.id), toCaller, `${state} to the caller`);
    assert.equal(callWords(call(state, extra), bob.id), toCallee, `${state} to the callee`);
  }
});

test("the dashboard names each state", () => {
  assert.equal(stateWords(call("ringing")), "Ringing");
  assert.equal(stateWords(call("accepted")), "In progress");
  assert.equal(stateWords(call("ended", { end_reason: "hangup" })), "Ended");
  assert.equal(stateWords(call("rejected")), "Declined");
  assert.equal(stateWords(call("unavailable")), "Unavailable");
  assert.equal(stateWords(call("ended", { end_reason: "ice_failed" })), "Ended (could not connect)");
  assert.equal(stateWords(call("ended", { end_reason: "user_media_failed" })), "Ended (no camera or microphone)");
});

test("a late push of an older state never rolls a call back", () => {
  assert.equal(laterCall(call("accepted"), call("ringing")).state, "accepted");
  assert.equal(laterCall(call("ended"), call("accepted")).state, "ended");
  assert.equal(laterCall(call("ringing"), call("missed")).state, "missed");
  assert.equal(laterCall(undefined, call("ringing")).state, "ringing");
});

test("durations read as m:ss or h:mm:ss", () => {
  assert.equal(formatDuration(0), "0:00");
  assert.equal(formatDuration(9.9), "0:09");
  assert.equal(formatDuration(75.4), "1:15");
  assert.equal(formatDuration(3725), "1:02:05");
  assert.equal(formatDuration(-4), "0:00");
});

test("error frames read as one sentence", () => {
  assert.equal(errorText(["Not found."]), "Not found.");
  assert.equal(errorText([{ name: ["This field is required."], title: ["This field is required."] }]),
    "Name is required. Title is required.");
  assert.equal(errorText({ non_field_errors: ["Wrong username or password."] }), "Wrong username or password.");
  assert.equal(errorText([], "Fallback."), "Fallback.");
  assert.equal(errorText(undefined), "Something went wrong.");
});

test("what the server says of a field reads as a sentence that names it as the form does", () => {
  const cases = [
    // Django's unique check, as a room's name taken
    [{ name: ["room with this name already exists."] }, "A room with this name already exists."],
    [{ name: ["invitation with this code already exists."] }, "An invitation with this code already exists."],
    // DRF's messages about "this field"
    [{ display_name: ["This field may not be blank."] }, "Display name may not be blank."],
    [{ title: ["Ensure this field has no more than 200 characters."] }, "Ensure the title has no more than 200 characters."],
    // a rule that does not name its field gets the field's label in front
    [{ name: ["Use 1-64 lowercase letters, digits or dashes, starting with a letter or digit."] },
      "Name: Use 1-64 lowercase letters, digits or dashes, starting with a letter or digit."],
    [{ body: ["Write 1 to 4000 characters."] }, "Message: Write 1 to 4000 characters."],
    // ...and none when it names it already, or speaks to the person
    [{ password: ["This password is too short. It must contain at least 8 characters.", "This password is too common."] },
      "This password is too short. It must contain at least 8 characters. This password is too common."],
    [{ username: ["A user with that username already exists."] }, "A user with that username already exists."],
    [{ client_id: ["This client_id was used for another room."] }, "This client_id was used for another room."],
    [{ callee: ["You cannot call yourself."] }, "You cannot call yourself."],
    // an id that names nobody
    [{ user: ['Invalid pk "99" - object does not exist.'] }, "There is no user #99."],
  ];
  for (const [errors, words] of cases) assert.equal(errorText(errors), words);
});

test("a bare message is capitalised and ends with a full stop", () => {
  assert.equal(errorText("not found"), "Not found.");
  assert.equal(errorText(["Try again later!"]), "Try again later!");
});

test("typing indicator words", () => {
  assert.equal(typingWords([]), "");
  assert.equal(typingWords(["Ann"]), "Ann is typing…");
  assert.equal(typingWords(["Ann", "Bo"]), "Ann and Bo are typing…");
  assert.equal(typingWords(["Ann", "Bo", "Cy"]), "Several people are typing…");
});

test("a set-up time in tenths of a second, then as a duration", () => {
  assert.equal(formatSetUp(0.44), "0.4 s");
  assert.equal(formatSetUp(12), "12.0 s");
  assert.equal(formatSetUp(75), "1:15");
});
