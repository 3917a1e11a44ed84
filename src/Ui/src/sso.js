// Sign-in by SSO on the sign-in page: a link per configured provider (GET /ui/api/sso), each a plain navigation to
// Broker's /sso/key/generate, which sends the browser to the provider and back to /sso/callback. A refused sign-in
// comes back as /ui/?sso_error=CODE: the page says why, in words, and drops the code from the address bar.
import { api } from "./api.js";
import { h } from "./dom.js";

const messages = {
  sso_state_mismatch: "The sign-in could not be matched to one started in this browser (it may have taken too long). Try again.",
  sso_provider_error: "The identity provider did not sign you in.",
  sso_token_failed: "The identity provider did not confirm the sign-in.",
  sso_id_token_invalid: "The identity provider's answer could not be verified, so you were not signed in.",
  sso_provider_unavailable: "The identity provider could not be reached. Try again later.",
  sso_unknown_provider: "That sign-in provider is not configured.",
  sso_email_domain: "Your e-mail domain may not sign in here.",
  sso_no_database: "Only the proxy admin can sign in by SSO here (no database keeps other users).",
  sso_user_unavailable: "Your user could not be created. Try again later.",
  ui_admin_only: "The admin UI is for the proxy admin only, and you are not one. Ask an admin for access.",
};

/** The message of a refused SSO sign-in named in the address (once: the code is taken out of the address). */
export function takeSsoError() {
  const params = new URLSearchParams(location.search);
  const code = params.get("sso_error");
  if (!code) {
    return null;
  }
  params.delete("sso_error");
  const rest = params.toString();
  history.replaceState(null, "", location.pathname + (rest ? `?${rest}` : ""));
  return messages[code] || `Sign-in by SSO was refused (${code}).`;
}

/** A section with one "Sign in with ..." link per provider; empty (and hidden) when none is configured. */
export function ssoSection() {
  const section = h("div", { className: "sso", hidden: true });
  api("GET", "/ui/api/sso")
    .then((answer) => {
      const providers = (answer && answer.providers) || [];
      if (providers.length === 0) {
        return;
      }
      section.replaceChildren(
        h("p", { className: "or" }, "or"),
        h(
          "ul",
          { className: "sso-providers", "aria-label": "Single sign-on" },
          providers.map((p) => h("li", {}, h("a", { className: "button", href: p.login_url }, `Sign in with ${p.display_name}`))),
        ),
      );
      section.hidden = false;
    })
    .catch(() => {
      // no SSO route (an older gateway): the key sign-in stays
    });
  return section;
}
