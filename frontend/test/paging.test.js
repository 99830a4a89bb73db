/* Paged lists (rooms, members) are read whole, page after page, by id cursor. */
import assert from "node:assert/strict";
import { test } from "node:test";

import { allPages } from "../src/protocol.js";

function pagedServer(ids) {
  const asked = [];
  const fetchPage = async (after, limit) => {
    asked.push(after);
    return ids.filter((id) => after === null || id > after).slice(0, limit).map((id) => ({ id }));
  };
  return { asked, fetchPage };
}

test("reads every page until a short one", async () => {
  const server = pagedServer([1, 2, 3, 5, 8, 13, 21]);
  const items = await allPages(server.fetchPage, 3);
  assert.deepEqual(items.map((item) => item.id), [1, 2, 3, 5, 8, 13, 21]);
  assert.deepEqual(server.asked, [null, 3, 13]);
});

test("a full last page costs one more, empty, request", async () => {
  const server = pagedServer([4, 6, 9]);
  assert.equal((await allPages(server.fetchPage, 3)).length, 3);
  assert.deepEqual(server.asked, [null, 9]);
});

test("a failing page fails the whole read", async () => {
  const fetchPage = async (after) => {
    if (after !== null) throw new Error("socket closed");
    return [{ id: 1 }, { id: 2 }];
  };
  await assert.rejects(allPages(fetchPage, 2), /socket closed/);
});
