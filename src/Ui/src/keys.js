// Keys: the proxy admin lists, creates, edits, blocks, regenerates and deletes virtual keys (/key/*); a virtual key
// sees only itself and, when it belongs to a user, that user's other keys (/key/info, /user/info).
import { api, ApiError } from "./api.js";
import { alertBox, h, money, table, when } from "./dom.js";
import { fieldGrid, openFormDialog, readInputs, secretNotice } from "./forms.js";

const list = (values) => (Array.isArray(values) && values.length ? values.join(", ") : "all");
const keyLabel = (k) => k.key_alias || k.key_name || (k.token || "").slice(0, 10);

function section(title, ...children) {
  return h("section", { "aria-labelledby": "view-title" }, h("h1", { id: "view-title", tabindex: "-1" }, title), ...children);
}

function failure(error) {
  return alertBox(error instanceof ApiError ? `${error.message} (HTTP ${error.status})` : String(error));
}

function limits(k) {
  return (
    [
      k.rpm_limit != null ? `${k.rpm_limit} rpm` : null,
      k.tpm_limit != null ? `${k.tpm_limit} tpm` : null,
      k.max_parallel_requests != null ? `${k.max_parallel_requests} parallel` : null,
    ]
      .filter(Boolean)
      .join(", ") || "—"
  );
}

function budget(k) {
  if (k.max_budget == null) {
    return "none";
  }
  return k.budget_duration ? `${money(k.max_budget)} per ${k.budget_duration}` : money(k.max_budget);
}

/** The fields a key is created and edited with; `k` (when editing) gives their current values. */
function keySpecs(teams, k, editing) {
  return [
    { name: "key_alias", label: "Alias", value: k?.key_alias },
    { name: "models", label: "Models", kind: "list", value: k?.models, hint: "Comma-separated; empty means every model", placeholder: "gpt-4o, claude" },
    { name: "team_id", label: "Team", kind: "select", value: k?.team_id ?? "", options: [["", "no team"], ...teams.map((t) => [t.team_id, t.team_alias || t.team_id])] },
    { name: "user_id", label: "User id", value: k?.user_id },
    { name: "max_budget", label: "Max budget (USD)", kind: "number", value: k?.max_budget },
    { name: "budget_duration", label: "Budget resets every", value: k?.budget_duration, placeholder: "30d", hint: "e.g. 1d, 30d, 1mo; empty: never" },
    { name: "rpm_limit", label: "Requests per minute", kind: "integer", value: k?.rpm_limit },
    { name: "tpm_limit", label: "Tokens per minute", kind: "integer", value: k?.tpm_limit },
    { name: "max_parallel_requests", label: "Parallel requests", kind: "integer", value: k?.max_parallel_requests },
    editing
      ? { name: "duration", label: "New expiry (from now)", placeholder: "30d", hint: `Now ${k?.expires ? when(k.expires) : "never"}. e.g. 30d; "never" removes it; empty keeps it` }
      : { name: "duration", label: "Expires after", placeholder: "30d", hint: "e.g. 30d, 12h; empty means never" },
  ];
}

/** An edit's body: every field (an emptied one is cleared), except the expiry, which changes only when given. */
function editBody(values) {
  const body = { ...values };
  if (body.duration === null) {
    delete body.duration;
  } else if (String(body.duration).toLowerCase() === "never") {
    body.duration = null;
  }
  return body;
}

export async function keysView(session, rerender) {
  if (session.role !== "admin") {
    return myKeyView(session);
  }
  const status = h("div", { className: "status-area", "aria-live": "polite" });
  const say = (node) => document.querySelector(".status-area")?.replaceChildren(node);

  let keys = [];
  let teams = [];
  try {
    const [page, teamList] = await Promise.all([
      api("GET", "/key/list?return_full_object=true&size=100"),
      api("GET", "/team/list").catch(() => []),
    ]);
    keys = page.keys || [];
    teams = Array.isArray(teamList) ? teamList : [];
  } catch (error) {
    return section("Keys", failure(error));
  }
  const teamName = new Map(teams.map((t) => [t.team_id, t.team_alias || t.team_id]));

  const { grid, inputs } = fieldGrid(keySpecs(teams, null, false));
  const form = h(
    "form",
    {
      className: "card create",
      "aria-labelledby": "create-title",
      onsubmit: async (event) => {
        event.preventDefault();
        try {
          const created = await api("POST", "/key/generate", readInputs(inputs, { skipEmpty: true }));
          form.reset();
          await rerender();
          say(secretNotice(`Key ${created.key_alias || ""} created. Copy it now: it is not shown again.`, created.key));
        } catch (error) {
          say(failure(error));
        }
      },
    },
    h("h2", { id: "create-title" }, "Create a key"),
    grid,
    h("button", { type: "submit", className: "primary" }, "Create key"),
  );

  const act = (run) => async () => {
    try {
      await run();
      await rerender();
    } catch (error) {
      say(failure(error));
    }
  };
  const edit = (k) =>
    openFormDialog({
      title: `Edit key ${keyLabel(k)}`,
      specs: keySpecs(teams, k, true),
      submitLabel: "Save changes",
      testId: "edit-key",
      submit: (values) => api("POST", "/key/update", { key: k.token, ...editBody(values) }),
      done: async () => {
        await rerender();
        say(alertBox(`Key ${keyLabel(k)} saved.`, "success"));
      },
    });
  const regenerate = async (k) => {
    if (!window.confirm(`Regenerate key ${keyLabel(k)}? Its current secret stops working at once; alias, limits, budget and spend stay.`)) {
      return;
    }
    try {
      const renewed = await api("POST", "/key/regenerate", { key: k.token });
      await rerender();
      say(secretNotice(`Key ${keyLabel(k)} has a new secret. Copy it now: it is not shown again; the old one no longer works.`, renewed.key));
    } catch (error) {
      say(failure(error));
    }
  };

  const rows = table(
    "Virtual keys",
    [
      { label: "Alias", cell: (k) => k.key_alias || "—" },
      { label: "Key", cell: (k) => h("code", {}, k.key_name || (k.token || "").slice(0, 10)) },
      { label: "Team", cell: (k) => (k.team_id ? teamName.get(k.team_id) || k.team_id : "—") },
      { label: "Models", cell: (k) => list(k.models) },
      { label: "Budget", cell: budget },
      { label: "Spend", cell: (k) => money(k.spend) },
      { label: "Limits", cell: limits },
      { label: "Expires", cell: (k) => (k.expires ? when(k.expires) : "never") },
      { label: "Status", cell: (k) => (k.blocked ? h("span", { className: "badge bad" }, "blocked") : h("span", { className: "badge ok" }, "active")) },
      {
        label: "Actions",
        cell: (k) =>
          h(
            "div",
            { className: "actions" },
            h("button", { type: "button", "aria-label": `Edit key ${k.key_alias || k.token}`, onclick: () => edit(k) }, "Edit"),
            h(
              "button",
              {
                type: "button",
                "aria-label": `${k.blocked ? "Unblock" : "Block"} key ${k.key_alias || k.token}`,
                onclick: act(() => api("POST", k.blocked ? "/key/unblock" : "/key/block", { key: k.token })),
              },
              k.blocked ? "Unblock" : "Block",
            ),
            h("button", { type: "button", "aria-label": `Regenerate key ${k.key_alias || k.token}`, onclick: () => regenerate(k) }, "Regenerate"),
            h(
              "button",
              {
                type: "button",
                className: "danger",
                "aria-label": `Delete key ${k.key_alias || k.token}`,
                onclick: async () => {
                  if (window.confirm(`Delete key ${keyLabel(k)}? Requests with it stop at once.`)) {
                    await act(() => api("POST", "/key/delete", { keys: [k.token] }))();
                  }
                },
              },
              "Delete",
            ),
          ),
      },
    ],
    keys,
    { testId: "keys-table", empty: "No keys yet.", rowAttrs: (k) => ({ "data-alias": k.key_alias || "" }) },
  );
  return section("Keys", status, form, rows);
}

/** A virtual key's own view: itself, and its user's other keys when it belongs to a user. Nothing of anyone else. */
export async function myKeyView(session) {
  try {
    const info = (await api("GET", "/key/info")).info;
    const facts = h(
      "dl",
      { className: "card facts", "data-testid": "my-key" },
      h("dt", {}, "Alias"), h("dd", {}, info.key_alias || "—"),
      h("dt", {}, "Key"), h("dd", {}, session.key_hint || info.key_name || "—"),
      h("dt", {}, "Models"), h("dd", {}, list(info.models)),
      h("dt", {}, "Spend"), h("dd", { "data-testid": "my-spend" }, money(info.spend)),
      h("dt", {}, "Budget"), h("dd", {}, budget(info)),
      h("dt", {}, "Limits"), h("dd", {}, limits(info)),
      h("dt", {}, "Expires"), h("dd", {}, info.expires ? when(info.expires) : "never"),
      h("dt", {}, "Status"), h("dd", {}, info.blocked ? "blocked" : "active"),
    );
    let userKeys = null;
    if (info.user_id) {
      try {
        const user = await api("GET", `/user/info?user_id=${encodeURIComponent(info.user_id)}`);
        userKeys = table(
          `Keys of user ${user.user_info?.user_alias || user.user_id} (spend ${money(user.user_info?.spend)})`,
          [
            { label: "Alias", cell: (k) => k.key_alias || "—" },
            { label: "Key", cell: (k) => h("code", {}, k.key_name) },
            { label: "Models", cell: (k) => list(k.models) },
            { label: "Budget", cell: budget },
            { label: "Spend", cell: (k) => money(k.spend) },
            { label: "Expires", cell: (k) => (k.expires ? when(k.expires) : "never") },
            { label: "Status", cell: (k) => (k.blocked ? "blocked" : "active") },
          ],
          user.keys || [],
          { testId: "my-keys", rowAttrs: (k) => ({ "data-alias": k.key_alias || "" }) },
        );
      } catch {
        userKeys = null;
      }
    }
    return section("My key", facts, userKeys);
  } catch (error) {
    return section("My key", failure(error));
  }
}
