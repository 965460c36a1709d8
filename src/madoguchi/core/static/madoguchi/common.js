/* What every page script of madoguchi shares (desk.js, the resident's me.js, the demo's tray.js):
 * the page's texts from <template id="msg-..."> elements, and JSON over fetch. Loaded (deferred)
 * before them; no inline script anywhere (CSP).
 */
(function () {
  "use strict";

  function $(sel, root) { return (root || document).querySelector(sel); }

  // The text of <template id="msg-ID"> (rendered in the page's language), {name}s filled in.
  function msg(id, vars) {
    var el = document.getElementById("msg-" + id);
    var text = el ? el.innerHTML.trim() : id;
    var tmp = document.createElement("textarea");
    tmp.innerHTML = text;
    text = tmp.value;
    Object.keys(vars || {}).forEach(function (k) { text = text.replace("{" + k + "}", vars[k]); });
    return text;
  }

  // A fetch response as {status, body} (body {} when it is not JSON).
  function asJson(r) {
    return r.json().catch(function () { return {}; }).then(function (j) {
      return { status: r.status, body: j };
    });
  }

  // A call to the card agent at `origin` (loopback, CORS, no credentials).
  function agent(origin, path, method, body) {
    return fetch(origin + path, {
      method: method || "GET",
      mode: "cors",
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(asJson);
  }

  // The page's sentence for a card operation that failed, by its code: the agent's error
  // (`pin_blocked`, `not_found`…) or the page script's own (`no-card`, `agent-unreachable`…),
  // each a <template id="msg-CODE"> of the page; any other code, the page's generic sentence.
  // The agent stopping (its service restarted, or it crashed) ends its pending request as
  // `agent_stopped`: said as the agent not answering, which it then does not, and what to do.
  var CARD_CODES = ["no-card", "agent-unreachable", "pin_blocked", "card_removed", "timeout",
    "cancelled", "card_error", "events_undelivered", "superseded", "origin_mismatch", "changed",
    "not_found", "forbidden_origin", "place-resident-card-timeout", "place-second-card-timeout"];
  var CARD_SAID_AS = { agent_stopped: "agent-unreachable" };

  function cardMessage(code) {
    var id = CARD_SAID_AS[code] || code;
    var known = CARD_CODES.indexOf(id) >= 0 && document.getElementById("msg-" + id);
    return msg(known ? id : "generic");
  }

  window.madoguchi = { $: $, msg: msg, asJson: asJson, agent: agent, cardMessage: cardMessage };
})();
