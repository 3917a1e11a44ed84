// Forms of the admin views: inputs described once ({name, label, kind, value, hint, options}), read back into the
// JSON the admin API takes, and a modal <dialog> (focus kept inside, Escape closes, focus returns to the opener).
import { ApiError } from "./api.js";
import { alertBox, field, h } from "./dom.js";

/** Builds one input for a field description; the element remembers how it is read (dataset.kind). */
function input(spec) {
  const value = spec.value ?? "";
  let element;
  if (spec.kind === "select") {
    element = h(
      "select",
      { name: spec.name },
      (spec.options || []).map(([optionValue, text]) => h("option", { value: optionValue, selected: String(optionValue) === String(value) }, text)),
    );
  } else if (spec.kind === "checkbox") {
    element = h("input", { type: "checkbox", name: spec.name, checked: Boolean(spec.value) });
  } else {
    const numeric = spec.kind === "number" || spec.kind === "integer";
    element = h("input", {
      name: spec.name,
      type: spec.kind === "password" ? "password" : numeric ? "number" : "text",
      min: numeric ? "0" : undefined,
      step: spec.kind === "integer" ? "1" : numeric ? "any" : undefined,
      inputmode: numeric ? (spec.kind === "integer" ? "numeric" : "decimal") : undefined,
      autocomplete: "off",
      spellcheck: "false",
      placeholder: spec.placeholder,
      required: spec.required,
      value: Array.isArray(value) ? value.join(", ") : String(value),
    });
  }
  element.dataset.kind = spec.kind || "text";
  element.dataset.field = spec.name;
  return element;
}

/** A grid of labelled inputs for the given field descriptions. */
export function fieldGrid(specs) {
  const inputs = specs.map(input);
  const grid = h(
    "div",
    { className: "grid" },
    inputs.map((element, i) =>
      specs[i].kind === "checkbox"
        ? h("div", { className: "field check" }, element, h("label", { for: (element.id = `f-${Math.random().toString(36).slice(2, 9)}`) }, specs[i].label))
        : field(specs[i].label, element, specs[i].hint),
    ),
  );
  return { grid, inputs };
}

/**
 * The inputs' values as an API body: text trimmed (empty: null), numbers parsed (empty: null), lists split on commas
 * (empty: []), checkboxes true/false. With `skipEmpty`, empty fields are left out.
 */
export function readInputs(inputs, { skipEmpty = false } = {}) {
  const body = {};
  for (const element of inputs) {
    const kind = element.dataset.kind;
    const name = element.dataset.field;
    let value;
    if (kind === "checkbox") {
      value = element.checked;
    } else if (kind === "list") {
      value = element.value.split(",").map((v) => v.trim()).filter(Boolean);
    } else if (kind === "number" || kind === "integer") {
      value = element.value === "" ? null : Number(element.value);
    } else {
      value = element.value.trim() === "" ? null : element.value.trim();
    }
    if (skipEmpty && (value === null || (Array.isArray(value) && value.length === 0))) {
      continue;
    }
    body[name] = value;
  }
  return body;
}

/**
 * Opens a modal form. `submit(values)` runs the change; its error is shown in the dialog (which stays open), its
 * success closes the dialog and runs `done(result)`.
 */
export function openFormDialog({ title, specs, submitLabel, submit, done, intro, testId }) {
  const opener = document.activeElement;
  const titleId = `dlg-${Math.random().toString(36).slice(2, 9)}`;
  const { grid, inputs } = fieldGrid(specs);
  const status = h("div", { "aria-live": "assertive" });
  const dialog = h("dialog", { "aria-labelledby": titleId, "data-testid": testId });
  const close = () => {
    dialog.close();
  };
  const form = h(
    "form",
    {
      onsubmit: async (event) => {
        event.preventDefault();
        try {
          const result = await submit(readInputs(inputs));
          close();
          if (done) {
            await done(result);
          }
        } catch (error) {
          status.replaceChildren(alertBox(error instanceof ApiError ? `${error.message} (HTTP ${error.status})` : String(error)));
        }
      },
    },
    h("h2", { id: titleId }, title),
    intro ? h("p", {}, intro) : null,
    grid,
    status,
    h("div", { className: "actions" }, h("button", { type: "submit", className: "primary" }, submitLabel), h("button", { type: "button", onclick: close }, "Cancel")),
  );
  dialog.append(form);
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (opener instanceof HTMLElement && opener.isConnected) {
      opener.focus();
    }
  });
  document.body.append(dialog);
  dialog.showModal();
  inputs[0]?.focus();
  return dialog;
}

/** A modal that shows content (no form fields) with a Close button. */
export function openInfoDialog({ title, content, testId }) {
  const opener = document.activeElement;
  const titleId = `dlg-${Math.random().toString(36).slice(2, 9)}`;
  const closeButton = h("button", { type: "button", onclick: () => dialog.close() }, "Close");
  const dialog = h("dialog", { "aria-labelledby": titleId, "data-testid": testId }, h("h2", { id: titleId }, title), content, h("div", { className: "actions" }, closeButton));
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (opener instanceof HTMLElement && opener.isConnected) {
      opener.focus();
    }
  });
  document.body.append(dialog);
  dialog.showModal();
  closeButton.focus();
  return dialog;
}

/** A one-time secret (a new key) with a copy button, announced politely. */
export function secretNotice(text, secret) {
  return h(
    "div",
    { className: "alert success", role: "status" },
    h("p", {}, text),
    h("p", { className: "secret" }, h("code", { "data-testid": "new-key-secret" }, secret), " ", h("button", { type: "button", onclick: () => navigator.clipboard?.writeText(secret) }, "Copy")),
  );
}
