/** Sign in: as a guest with a display name, with a username and password, or a new account. */

import { field, h } from "../dom.js";
import { register, signIn, signInAsGuest } from "../http.js";

function authForm({ title, id, fields, submitLabel, submit, onSignedIn }) {
  const error = h("p", { class: "form-error", role: "alert" });
  const button = h("button", { type: "submit", class: "primary" }, submitLabel);
  const form = h("form", {
    class: "card auth-card",
    "aria-labelledby": `${id}-title`,
    onSubmit: async (event) => {
      event.preventDefault();
      error.textContent = "";
      button.disabled = true;
      try {
        onSignedIn(await submit(...fields.map((input) => input.value)));
      } catch (problem) {
        error.textContent = problem.message;
        button.disabled = false;
      }
    },
  },
  h("h2", { id: `${id}-title` }, title),
  fields.map((input) => field(input.dataset.label, input)),
  error,
  button);
  return form;
}

function input(label, props) {
  return h("input", { required: true, dataset: { label }, ...props });
}

export function signInView(onSignedIn) {
  const guestName = input("Display name", {
    name: "display_name", id: "guest-name", maxlength: 150, autocomplete: "nickname",
  });
  const guest = authForm({
    title: "Continue as a guest",
    id: "guest",
    fields: [guestName],
    submitLabel: "Continue",
    submit: (name) => signInAsGuest(name.trim()),
    onSignedIn,
  });
  const login = authForm({
    title: "Sign in",
    id: "login",
    fields: [
      input("Username", { name: "username", id: "login-username", autocomplete: "username" }),
      input("Password", { name: "password", id: "login-password", type: "password", autocomplete: "current-password" }),
    ],
    submitLabel: "Sign in",
    submit: signIn,
    onSignedIn,
  });
  const signup = authForm({
    title: "Create an account",
    id: "register",
    fields: [
      input("Username", { name: "username", id: "register-username", autocomplete: "username" }),
      input("Password", { name: "password", id: "register-password", type: "password", autocomplete: "new-password", minlength: 8 }),
    ],
    submitLabel: "Create account",
    submit: register,
    onSignedIn,
  });
  return h("main", { id: "main", class: "signin", tabindex: "-1" },
    h("header", { class: "signin-intro" },
      h("h1", {}, "Parley"),
      h("p", {}, "Rooms, live chat and video calls. Pick a name to start, or sign in.")),
    h("div", { class: "auth-grid" }, guest, login, signup),
    h("p", { class: "api-links" },
      "Building a client? See the ", h("a", { href: "/api/docs/" }, "REST API documentation"), "."));
}
