// Models: every model group and deployment (/model/info, secrets redacted by the API), the cooldowns in force
// (/cooldowns), a health check on demand (/health), and runtime models added, edited and deleted through
// /model/new, /model/update and /model/delete when store_model_in_db allows it. A virtual key sees the models it may use.
import { api, ApiError } from "./api.js";
import { alertBox, h, table, when } from "./dom.js";
import { openFormDialog } from "./forms.js";

function section(title, ...children) {
  return h("section", { "aria-labelledby": "view-title" }, h("h1", { id: "view-title", tabindex: "-1" }, title), ...children);
}

function failure(error) {
  return alertBox(error instanceof ApiError ? `${error.message} (HTTP ${error.status})` : String(error));
}

const specs = (m) => [
  { name: "model_name", label: "Model group", value: m?.model_name, required: true, hint: "The name clients ask for" },
  { name: "model", label: "Provider model", value: m?.litellm_params?.model, required: true, placeholder: "openai/gpt-4o" },
  { name: "api_base", label: "API base", value: m?.litellm_params?.api_base, placeholder: "https://api.openai.com/v1" },
  {
    name: "api_key",
    label: "API key",
    kind: "password",
    hint: m ? `Now ${m.litellm_params?.api_key || "none"}; empty keeps it` : "Or os.environ/NAME",
  },
  { name: "rpm", label: "Requests per minute", kind: "integer", value: m?.litellm_params?.rpm },
  { name: "tpm", label: "Tokens per minute", kind: "integer", value: m?.litellm_params?.tpm },
];

/** litellm_params from the form: on a new model empty fields are left out; on an edit they are removed (null), but an empty key is kept. */
function params(values, editing) {
  const p = {};
  for (const name of ["model", "api_base", "api_key", "rpm", "tpm"]) {
    if (values[name] !== null) {
      p[name] = values[name];
    } else if (editing && name !== "api_key") {
      p[name] = null;
    }
  }
  return p;
}

export async function modelsView(session, rerender) {
  if (session.role !== "admin") {
    try {
      const answer = await api("GET", "/v1/models");
      return section("Models", table("Models this key may use", [{ label: "Model", cell: (m) => m.id }], answer.data || [], { testId: "models-table" }));
    } catch (error) {
      return section("Models", failure(error));
    }
  }

  let info;
  let cooldowns;
  try {
    [info, cooldowns] = await Promise.all([api("GET", "/model/info"), api("GET", "/cooldowns").catch(() => null)]);
  } catch (error) {
    return section("Models", failure(error));
  }
  const deployments = info.data || [];
  const writable = info.runtime_models?.enabled === true;
  const cooling = new Map((cooldowns?.cooldowns || []).map((c) => [c.deployment_id, c]));
  const health = new Map();
  const status = h("div", { className: "status-area", "aria-live": "polite" });
  const say = (node) => status.replaceChildren(node);

  const groups = new Map();
  for (const d of deployments) {
    const list = groups.get(d.model_name) || [];
    list.push(d);
    groups.set(d.model_name, list);
  }

  const healthCell = (d) => {
    const result = health.get(d.model_info?.id);
    if (!result) {
      return h("span", { className: "muted" }, "not checked");
    }
    return result.healthy ? h("span", { className: "badge ok" }, "healthy") : h("span", { className: "badge bad", title: result.error || "" }, `unhealthy: ${result.error || "error"}`);
  };
  const cooldownCell = (d) => {
    const c = cooling.get(d.model_info?.id);
    return c ? h("span", { className: "badge bad" }, `cooling down ${c.remaining_seconds} s (${c.reason || "failures"})`) : "—";
  };

  const edit = (d) =>
    openFormDialog({
      title: `Edit model ${d.model_name} (${d.model_info.id})`,
      specs: specs(d),
      submitLabel: "Save changes",
      testId: "edit-model",
      submit: (values) => api("POST", "/model/update", { model_name: values.model_name, litellm_params: params(values, true), model_info: { id: d.model_info.id } }),
      done: async () => {
        await rerender();
        document.querySelector(".status-area")?.replaceChildren(alertBox(`Model ${d.model_info.id} saved.`, "success"));
      },
    });
  const remove = async (d) => {
    if (!window.confirm(`Delete model ${d.model_name} (${d.model_info.id})? Requests stop going to it.`)) {
      return;
    }
    try {
      await api("POST", "/model/delete", { id: d.model_info.id });
      await rerender();
      document.querySelector(".status-area")?.replaceChildren(alertBox(`Model ${d.model_info.id} deleted.`, "success"));
    } catch (error) {
      say(failure(error));
    }
  };

  const deploymentTable = () =>
    table(
      "Deployments (secrets redacted)",
      [
        { label: "Model group", cell: (d) => d.model_name },
        { label: "Deployment", cell: (d) => h("code", {}, d.model_info?.id) },
        { label: "Provider model", cell: (d) => d.litellm_params?.model || "—" },
        { label: "API base", cell: (d) => d.litellm_params?.api_base || "—" },
        { label: "API key", cell: (d) => d.litellm_params?.api_key || "—" },
        { label: "Limits", cell: (d) => [d.litellm_params?.rpm && `${d.litellm_params.rpm} rpm`, d.litellm_params?.tpm && `${d.litellm_params.tpm} tpm`].filter(Boolean).join(", ") || "—" },
        { label: "Source", cell: (d) => (d.model_info?.db_model ? (d.model_info.loaded === false ? "runtime (not loaded)" : "runtime") : "config.yaml") },
        { label: "Health", cell: healthCell },
        { label: "Cooldown", cell: cooldownCell },
        {
          label: "Actions",
          cell: (d) =>
            d.model_info?.db_model && writable
              ? h(
                  "div",
                  { className: "actions" },
                  h("button", { type: "button", "aria-label": `Edit model ${d.model_info.id}`, onclick: () => edit(d) }, "Edit"),
                  h("button", { type: "button", className: "danger", "aria-label": `Delete model ${d.model_info.id}`, onclick: () => remove(d) }, "Delete"),
                )
              : h("span", { className: "muted" }, "read-only"),
        },
      ],
      deployments,
      { testId: "models-table", rowAttrs: (d) => ({ "data-id": d.model_info?.id || "" }) },
    );
  const deploymentBox = h("div", {}, deploymentTable());

  const checkButton = h(
    "button",
    {
      type: "button",
      onclick: async () => {
        checkButton.disabled = true;
        say(alertBox("Checking every deployment…", "info"));
        try {
          const report = await api("GET", "/health");
          health.clear();
          for (const e of report.healthy_endpoints || []) {
            health.set(e.model_id, { healthy: true });
          }
          for (const e of report.unhealthy_endpoints || []) {
            health.set(e.model_id, { healthy: false, error: e.error });
          }
          deploymentBox.replaceChildren(deploymentTable());
          say(alertBox(report.message || `${report.healthy_count} healthy, ${report.unhealthy_count} unhealthy (checked ${when(new Date().toISOString())}).`, "success"));
        } catch (error) {
          say(failure(error));
        } finally {
          checkButton.disabled = false;
        }
      },
    },
    "Check health now",
  );

  const groupTable = table(
    "Model groups",
    [
      { label: "Model group", cell: ([name]) => name },
      { label: "Deployments", cell: ([, list]) => String(list.length) },
      { label: "Cooling down", cell: ([, list]) => String(list.filter((d) => cooling.has(d.model_info?.id)).length) },
      { label: "Queue", cell: ([, list]) => list[0]?.model_info?.queue || "—" },
    ],
    [...groups.entries()],
    { testId: "groups-table" },
  );

  const addButton = writable
    ? h(
        "button",
        {
          type: "button",
          className: "primary",
          onclick: () =>
            openFormDialog({
              title: "Add a model",
              specs: specs(null),
              submitLabel: "Add model",
              testId: "add-model",
              submit: (values) => api("POST", "/model/new", { model_name: values.model_name, litellm_params: params(values, false) }),
              done: async (created) => {
                await rerender();
                document.querySelector(".status-area")?.replaceChildren(alertBox(`Model ${created.model_name} (${created.model_id}) added.`, "success"));
              },
            }),
        },
        "Add model",
      )
    : null;
  const note = writable
    ? "Models from config.yaml are read-only here; runtime models can be edited and deleted."
    : info.runtime_models?.refusal || "Runtime models are off (general_settings.store_model_in_db).";

  return section(
    "Models",
    status,
    h("div", { className: "toolbar" }, checkButton, addButton, h("p", { className: "muted", "data-testid": "models-note" }, note)),
    groupTable,
    h("p", { className: "muted", "data-testid": "cooldowns-note" }, cooldowns ? `${cooling.size} deployment(s) cooling down (routing state: ${cooldowns.shared_state}).` : "Cooldowns are not available."),
    deploymentBox,
  );
}
