/* Only src/protocol.js names streams and actions: the rest of the app calls `app.api`. */
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const SRC = fileURLToPath(new URL("../src/", import.meta.url));
// The protocol's one home, and the transport under it (connection.js, and subscriptions.js:
// dcrf-client's options, which match pushes by their `revoked` action).
const ALLOWED = new Set(["protocol.js", "connection.js", "subscriptions.js"]);

const RAW_USES = [
  // A request or subscription whose first argument is a stream's name.
  [/\.(request|subscribe|list|all|create|patch|update|delete|retrieve)\(\s*["'`]/, "a stream named in a call"],
  // The connection's own request and subscribe.
  [/\bconnection\.(request|subscribe)\b/, "the connection asked directly"],
  // An action written out in a payload.
  [/\baction:\s*["'`]/, "an action written in a payload"],
];

function sources() {
  return readdirSync(SRC, { recursive: true })
    .filter((path) => path.endsWith(".js"))
    .map((path) => join(SRC, path));
}

test("no module but protocol.js sends a stream or action of its own", () => {
  const found = [];
  for (const path of sources()) {
    const name = relative(SRC, path);
    if (ALLOWED.has(name)) continue;
    readFileSync(path, "utf8").split("\n").forEach((line, index) => {
      for (const [pattern, what] of RAW_USES) {
        if (pattern.test(line)) found.push(`${name}:${index + 1}: ${what}: ${line.trim()}`);
      }
    });
  }
  assert.deepEqual(found, []);
});

test("the check sees a raw call", () => {
  const [[pattern]] = RAW_USES;
  assert.ok(pattern.test('await this.connection.request("calls", { action: "accept", pk });'));
  assert.ok(!pattern.test("this.items.delete(room.id);"));
});
