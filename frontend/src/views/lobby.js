/** The lobby: every room I can see, live, and a form to create one. */

import { field, h, replace } from "../dom.js";
import { displayName } from "../words.js";

function roomCard(room) {
  return h("li", { class: "room-card", dataset: { roomId: room.id } },
    h("a", { class: "room-link", href: `#/room/${room.id}` }, room.title || room.name),
    h("p", { class: "room-meta" },
      h("span", { class: `badge ${room.is_private ? "badge-private" : "badge-public"}` },
        room.is_private ? "Private" : "Public"),
      ` #${room.name} · owner ${displayName(room.owner)}`));
}

function createRoomForm(app) {
  const name = h("input", {
    name: "name", id: "room-name", required: true, maxlength: 64, pattern: "[a-z0-9][a-z0-9\\-]{0,63}",
    autocomplete: "off",
  });
  const title = h("input", { name: "title", id: "room-title", required: true, maxlength: 200, autocomplete: "off" });
  const isPrivate = h("input", { type: "checkbox", name: "is_private", id: "room-private" });
  const error = h("p", { class: "form-error", role: "alert" });
  const button = h("button", { type: "submit", class: "primary" }, "Create room");
  // Suggest a name from the title until the user edits the name themselves.
  let nameEdited = false;
  name.addEventListener("input", () => { nameEdited = true; });
  title.addEventListener("input", () => {
    if (!nameEdited) name.value = slugify(title.value);
  });
  return h("form", {
    class: "card",
    "aria-labelledby": "create-room-title",
    onSubmit: async (event) => {
      event.preventDefault();
      error.textContent = "";
      button.disabled = true;
      try {
        const room = await app.api.rooms.create({
          name: name.value.trim(), title: title.value.trim(), isPrivate: isPrivate.checked,
        });
        app.rooms.apply(room, "create");
        window.location.hash = `#/room/${room.id}`;
      } catch (problem) {
        error.textContent = problem.message;
        button.disabled = false;
      }
    },
  },
  h("h2", { id: "create-room-title" }, "Create a room"),
  field("Title", title),
  field("Name", name, "Lowercase letters, digits and dashes; unique."),
  h("div", { class: "field checkbox" }, isPrivate,
    h("label", { for: "room-private" }, "Private (only people I invite can see it)")),
  error,
  button);
}

export function slugify(text) {
  return text.toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 64);
}

export function lobbyView(app, container) {
  const list = h("ul", { class: "room-list", "aria-labelledby": "rooms-title" });
  const empty = h("p", { class: "empty" }, "Loading rooms…");
  const render = (store) => {
    const rooms = store.rooms;
    replace(list, rooms.map(roomCard));
    empty.textContent = rooms.length ? "" : store.loaded ? "No rooms yet. Create the first one." : "Loading rooms…";
    empty.hidden = rooms.length > 0;
  };
  replace(container,
    h("div", { class: "lobby" },
      h("section", { class: "card rooms", "aria-labelledby": "rooms-title" },
        h("h1", { id: "rooms-title" }, "Rooms"),
        empty,
        list),
      createRoomForm(app)));
  render(app.rooms);
  return app.rooms.watch(render);
}
