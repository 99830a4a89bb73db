/**
 * Identity over HTTP (/api/auth/...). Signing in sets Django's session cookie, which the
 * browser then sends with the WebSocket upgrade: the socket needs no token.
 */

import { errorText } from "./words.js";

export class HttpError extends Error {
  constructor(status, body) {
    super(errorText(body && typeof body === "object" && "detail" in body ? body.detail : body,
      `The server answered ${status}.`));
    this.status = status;
    this.body = body;
  }
}

/** Django's CSRF token, from the cookie the index page sets (needed to sign out). */
function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

async function send(method, path, body) {
  const response = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) throw new HttpError(response.status, data);
  return data;
}

/**
 * The signed-in user, or null: first as the page was served (its JSON block, read once, since
 * signing out and in again makes it stale), else asked of the server.
 */
export async function currentUser() {
  const served = document.getElementById("parley-user");
  if (served) {
    served.remove();
    return JSON.parse(served.textContent);
  }
  try {
    return await send("GET", "/api/auth/me/");
  } catch (error) {
    if (error instanceof HttpError && (error.status === 401 || error.status === 403)) return null;
    throw error;
  }
}

export async function register(username, password) {
  return (await send("POST", "/api/auth/register/", { username, password })).user;
}

export async function signIn(username, password) {
  return (await send("POST", "/api/auth/token/", { username, password })).user;
}

export async function signInAsGuest(displayName) {
  return (await send("POST", "/api/auth/guest/", { display_name: displayName })).user;
}

export async function signOut() {
  await send("POST", "/api/auth/logout/");
}
