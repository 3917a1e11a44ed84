// Broker admin UI: a small single-page app served at /ui. It signs in through /ui/api/session (the master key or
// a virtual key becomes an HttpOnly session cookie) and then only calls Broker's public admin API.
import { api, ApiError, setCsrfToken } from "./api.js";
import { destroyCharts } from "./charts.js";
import { alertBox, field, h } from "./dom.js";
import { keysView } from "./keys.js";
import { modelsView } from "./models.js";
import { teamsView, usersView } from "./people.js";
import { batchesView, queuesView, requestsView, spendView } from "./views.js";
import { ssoSection, takeSsoError } from "./sso.js";
import { myKeysView } from "./userView.js";

const app = document.getElementById("app");

const routes = [
  { path: "/ui/keys", label: "Keys", view: keysView },
  { path: "/ui/users", label: "Users", view: usersView, admin: true },
  { path: "/ui/teams", label: "Teams", view: teamsView, admin: true },
  { path: "/ui/spend", label: "Spend", view: spendView, admin: true },
  { path: "/ui/queues", label: "Queues", view: queuesView, admin: true },
  { path: "/ui/models", label: "Models", view: modelsView },
  { path: "/ui/batches", label: "Batches", view: batchesView },
  { path: "/ui/requests", label: "Request lookup", view: requestsView },
];

let session = null;
let cleanups = [];

function cleanup() {
  for (const run of cleanups) {
    run();
  }
  cleanups = [];
  destroyCharts();
}

function signInView(message) {
  const key = h("input", { type: "password", name: "key", autocomplete: "current-password", required: true, spellcheck: "false" });
  const status = h("div", { "aria-live": "assertive" }, message ? alertBox(message) : null);
  const form = h(
    "form",
    {
      className: "card signin",
      "aria-labelledby": "signin-title",
      onsubmit: async (event) => {
        event.preventDefault();
        try {
          session = await api("POST", "/ui/api/session", { key: key.value });
          setCsrfToken(session.csrf_token);
          key.value = "";
          const target = location.pathname.startsWith("/ui/") && location.pathname !== "/ui/" ? location.pathname + location.search : "/ui/keys";
          navigate(target, true);
        } catch (error) {
          status.replaceChildren(alertBox(error instanceof ApiError ? error.message : String(error)));
          key.focus();
        }
      },
    },
    h("h1", { id: "signin-title" }, "Broker admin"),
    h("p", {}, "Sign in with the master key or a virtual key."),
    field("API key", key, "It is kept in an HttpOnly session cookie, never in the page."),
    status,
    h("button", { type: "submit", className: "primary" }, "Sign in"),
    ssoSection(),
  );
  app.replaceChildren(h("main", { id: "main", className: "center" }, form));
  key.focus();
}

function shell(current) {
  const visible = routes.filter((r) => !r.admin || session.role === "admin");
  const nav = h(
    "nav",
    { "aria-label": "Sections" },
    h(
      "ul",
      {},
      visible.map((r) =>
        h("li", {}, h("a", { href: r.path, "data-nav": "true", "aria-current": r === current ? "page" : undefined }, session.role !== "admin" && r.path === "/ui/keys" ? (session.role === "user" ? "My keys" : "My key") : r.label)),
      ),
    ),
  );
  const signOut = h(
    "button",
    {
      type: "button",
      onclick: async () => {
        try {
          await api("DELETE", "/ui/api/session");
        } finally {
          session = null;
          setCsrfToken("");
          cleanup();
          history.pushState(null, "", "/ui/");
          signInView();
        }
      },
    },
    "Sign out",
  );
  const who = session.user_id
    ? `Signed in as ${session.user_email || session.user_id}${session.role === "admin" ? " (admin)" : ""}`
    : session.role === "admin" ? "Signed in as admin (master key)" : `Signed in with key ${session.key_alias || session.key_hint || ""}`;
  const main = h("main", { id: "main", tabindex: "-1" }, h("p", { className: "loading" }, "Loading…"));
  app.replaceChildren(h("header", { className: "top" }, h("a", { href: "/ui/keys", "data-nav": "true", className: "brand" }, "Broker"), nav, h("div", { className: "who" }, h("span", {}, who), signOut)), main);
  return main;
}

async function render() {
  cleanup();
  if (!session) {
    signInView(takeSsoError());
    return;
  }
  const route = routes.find((r) => location.pathname === r.path || location.pathname === r.path + "/") || routes[0];
  if (route.admin && session.role !== "admin") {
    history.replaceState(null, "", "/ui/keys");
    return render();
  }
  if (location.pathname !== route.path && !location.pathname.startsWith(route.path)) {
    history.replaceState(null, "", route.path);
  }
  document.title = `${route.label} · Broker admin`;
  const main = shell(route);
  try {
    const show = session.role === "user" && route.path === "/ui/keys" ? myKeysView : route.view;
    const view = await show(session, render, (run) => cleanups.push(run));
    main.replaceChildren(view);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      session = null;
      signInView("Your session ended: sign in again.");
      return;
    }
    main.replaceChildren(alertBox(String(error)));
  }
  main.querySelector("h1")?.focus({ preventScroll: true });
}

function navigate(path, replace = false) {
  if (replace) {
    history.replaceState(null, "", path);
  } else {
    history.pushState(null, "", path);
  }
  render();
}

document.addEventListener("click", (event) => {
  const link = event.target instanceof Element ? event.target.closest("a[data-nav]") : null;
  if (link && !event.ctrlKey && !event.metaKey && !event.shiftKey && event.button === 0) {
    event.preventDefault();
    navigate(link.getAttribute("href"));
  }
});
window.addEventListener("popstate", render);

(async () => {
  try {
    session = await api("GET", "/ui/api/session");
    setCsrfToken(session.csrf_token);
  } catch {
    session = null;
  }
  render();
})();
