// Building nodes, the only way the page makes them: every string becomes a text node or an
// attribute value, never markup, so nothing a user typed is ever parsed as HTML. Event
// handlers are functions passed in `on` (the CSP forbids inline ones anyway).

/** `el("li", {class: "msg", "data-key": 3, on: {click}}, "text", child...)`. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "on") {
      for (const [name, handler] of Object.entries(value)) node.addEventListener(name, handler);
    } else if (key === "class") {
      node.className = value;
    } else if (key.startsWith("on") || key === "style" || key === "srcdoc") {
      throw new Error(`el() does not set ${key}`); // handlers go in `on`; no inline styles
    } else {
      node.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(node, children);
  return node;
}

/** `container`'s children become `children`, skipping null, undefined and false as `el()`
 * does: the DOM's own replaceChildren() would show a null as the word "null". */
export function fill(container, ...children) {
  container.replaceChildren();
  append(container, children);
  return container;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
}

/** A user's name, isolated so that right-to-left text in it cannot reorder what is around. */
export function name(user, className = "name") {
  return el("bdi", { class: className }, user);
}

export function byId(id) {
  const node = document.getElementById(id);
  if (node === null) throw new Error(`no #${id} in index.html`);
  return node;
}

export function show(node, visible) {
  node.hidden = !visible;
}

/** Redraw `container` with `draw()` without losing the keyboard's place: the focused element,
 * if inside, is found again by its `data-focus` (a redraw replaces the nodes). */
export function keepingFocus(container, draw) {
  const focused = document.activeElement;
  const key = container.contains(focused) ? focused?.getAttribute("data-focus") : null;
  draw();
  if (key) container.querySelector(`[data-focus="${CSS.escape(key)}"]`)?.focus();
}
