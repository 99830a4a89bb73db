/**
 * dcrf-client options for Parley's subscriptions on ONE client (one socket per tab).
 *
 * dcrf-client's `subscribe(stream, pk, callback)` passes `pk` to `buildSubscribePayload` and to
 * the selectors untouched, so instead of a pk we give it a spec:
 * `{action: "subscribe_room", room: 5}`. The payload is the spec plus the request id, and the
 * selectors match on the request id alone — Parley echoes the subscribe request_id in every push
 * — so one client carries lobby, messages, presence, calls, sdp and ice subscriptions at once.
 *
 * Pure (no socket) so node's test runner covers it.
 */

export const subscriptionOptions = {
  // Parley objects are keyed `id`; delete pushes carry {"pk": id}, which dcrf-client hands to
  // the callback as {"id": id}.
  pkField: "id",
  buildSubscribePayload: (spec, requestId) => ({ ...spec, request_id: requestId }),
  // Pushes (create, update, delete) have status 200; the subscribe reply has 201, so it only
  // resolves the subscribe promise and never reaches the callback.
  buildSubscribeUpdateSelector: (stream, spec, requestId) => ({
    stream,
    payload: { request_id: requestId, response_status: 200 },
  }),
  // The second listener dcrf-client installs catches the end of a subscription instead: Parley
  // sends `revoked` (403) when the user leaves or loses the room.
  buildSubscribeDeleteSelector: (stream, spec, requestId) => ({
    stream,
    payload: { request_id: requestId, action: "revoked" },
  }),
};

/** The unsubscribe request that stops the server's pushes of a subscription made with ``spec``. */
export function unsubscribePayload(spec) {
  const { action, ...args } = spec;
  return { ...args, action: action.replace(/^subscribe_/, "unsubscribe_") };
}
