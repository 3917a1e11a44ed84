// Tiny DOM helpers: elements are built with textContent only (never innerHTML), so no API value can inject markup.

export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) {
      continue;
    }
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "className") {
      element.className = value;
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) {
      continue;
    }
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function table(caption, columns, rows, options = {}) {
  const head = h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c.label))));
  const body = h(
    "tbody",
    {},
    rows.length === 0
      ? h("tr", {}, h("td", { colspan: columns.length, className: "empty" }, options.empty || "Nothing yet."))
      : rows.map((row) => h("tr", options.rowAttrs ? options.rowAttrs(row) : {}, columns.map((c) => h("td", { "data-label": c.label }, c.cell(row))))),
  );
  return h("div", { className: "table-wrap" }, h("table", { "data-testid": options.testId }, h("caption", {}, caption), head, body));
}

export function money(value) {
  const n = Number(value || 0);
  return "$" + n.toFixed(6).replace(/0+$/, "").replace(/\.$/, "");
}

export function exactMoney(value) {
  return "$" + String(value ?? 0);
}

export function when(iso) {
  if (!iso) {
    return "—";
  }
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

export function field(label, input, hint) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  const hintId = hint ? `${id}-hint` : undefined;
  if (hintId) {
    input.setAttribute("aria-describedby", hintId);
  }
  return h("div", { className: "field" }, h("label", { for: id }, label), input, hint ? h("small", { id: hintId }, hint) : null);
}

export function alertBox(message, kind = "error") {
  return h("p", { className: `alert ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
}
