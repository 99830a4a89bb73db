// The validator tests/test_asyncapi.py runs on the served AsyncAPI document: it passes a valid
// document and fails an invalid one, so a broken document cannot pass the suite.
import assert from "node:assert/strict";
import { test } from "node:test";

import { diagnose, errorsOf } from "../scripts/validate-asyncapi.js";

const VALID = {
  asyncapi: "3.0.0",
  info: { title: "Echo", version: "1.0" },
  channels: {
    socket: {
      address: "/ws/",
      messages: { ping: { payload: { type: "object", properties: { n: { $ref: "#/components/schemas/N" } } } } },
    },
  },
  operations: {
    ping: { action: "send", channel: { $ref: "#/channels/socket" }, messages: [{ $ref: "#/channels/socket/messages/ping" }] },
  },
  components: { schemas: { N: { type: ["integer", "null"] } } },
};

function changed(edit) {
  const document = structuredClone(VALID);
  edit(document);
  return JSON.stringify(document);
}

test("a valid document has no error", async () => {
  assert.deepEqual(errorsOf(await diagnose(JSON.stringify(VALID))), []);
});

test("a reference to a schema that does not exist is an error", async () => {
  const text = changed((d) => { d.components.schemas = {}; });
  assert.match(errorsOf(await diagnose(text)).map((e) => e.message).join("\n"), /does not exist/);
});

test("a schema of an unknown type is an error", async () => {
  const text = changed((d) => { d.components.schemas.N.type = "int"; });
  assert.ok(errorsOf(await diagnose(text)).length > 0);
});

test("an operation's message that is not its channel's is an error", async () => {
  const text = changed((d) => { d.channels.socket.messages = {}; });
  assert.ok(errorsOf(await diagnose(text)).length > 0);
});

test("a document without info.version is an error", async () => {
  const text = changed((d) => { delete d.info.version; });
  assert.ok(errorsOf(await diagnose(text)).length > 0);
});
