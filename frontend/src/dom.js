/**
 * Building DOM without HTML strings: every text goes in as a text node, so user data can never
 * become markup. (There is no innerHTML anywhere in the app.)
 */

// Set as properties, not attributes: their attribute is only the initial or default value.
const PROPERTIES = new Set(["value", "checked", "muted", "srcObject", "disabled", "hidden"]);

/** ``h("button", {class: "x", onClick: fn}, "Label", child)``. */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value == null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      element.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "class") {
      element.className = value;
    } else if (key === "dataset") {
      Object.assign(element.dataset, value);
    } else if (PROPERTIES.has(key)) {
      element[key] = value;
    } else {
      element.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return element;
}

/** Append children: nodes as they are, anything else as text. */
export function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** Replace all children of ``element``. */
export function replace(element, ...children) {
  element.replaceChildren();
  return append(element, children);
}

/** A labelled form field: <label for> + the control, wrapped in a div. */
export function field(labelText, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 10)}`;
  control.id = id;
  const hintNode = hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null;
  if (hintNode) control.setAttribute("aria-describedby", hintNode.id);
  return h("div", { class: "field" }, h("label", { for: id }, labelText), control, hintNode);
}

/** <time> for an ISO timestamp, shown as local time. */
export function timeElement(iso, withDate = false) {
  const date = new Date(iso);
  const text = withDate
    ? date.toLocaleString([], { dateStyle: "short", timeStyle: "short" })
    : date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return h("time", { datetime: iso, title: date.toLocaleString() }, text);
}
