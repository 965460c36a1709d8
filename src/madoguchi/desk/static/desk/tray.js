/* The demo's virtual card tray (desk pages and the resident's page): the card agent's virtual
 * reader, one card at a time. Included by desk/_tray.html only in demo mode. No inline script
 * (CSP): the agent's origin comes from the page's #desk-config or #me-config, every text from
 * <template id="msg-..."> elements rendered in the page's language.
 */
(function () {
  "use strict";

  var cfgEl = document.getElementById("desk-config") || document.getElementById("me-config");
  if (!cfgEl) return;
  var AGENT = cfgEl.dataset.agentOrigin.replace(/\/$/, "");

  var $ = window.madoguchi.$;
  var msg = window.madoguchi.msg;

  function agent(path, method, body) { return window.madoguchi.agent(AGENT, path, method, body); }

  function tray() {
    var root = $("[data-testid=tray]");
    if (!root) return;
    var list = $("[data-role=tray-cards]", root);
    var err = $("[data-role=tray-error]", root);
    function show(b, card) {
      b.className = "btn " + (card.inserted ? "btn-primary" : "btn-secondary");
      b.setAttribute("aria-pressed", card.inserted ? "true" : "false");
      b.textContent = msg(card.inserted ? "tray-inserted" : "tray-insert", { name: card.name });
    }
    function render(state) {
      // The same cards as shown: update the buttons in place. Rebuilding them on every refresh
      // (each press and each card event) could swap a button between a press's mouse-down and
      // mouse-up, and the press was lost.
      var shown = Array.prototype.map.call(
        list.querySelectorAll("button[data-card]"), function (b) { return b.dataset.card; });
      var names = state.cards.map(function (card) { return card.name; });
      if (shown.join("\n") === names.join("\n")) {
        state.cards.forEach(function (card, i) {
          show(list.querySelectorAll("button[data-card]")[i], card);
        });
        return;
      }
      list.replaceChildren();
      state.cards.forEach(function (card) {
        var li = document.createElement("li");
        var b = document.createElement("button");
        b.type = "button";
        b.dataset.card = card.name;
        b.dataset.testid = "tray-insert-" + card.name;
        show(b, card);
        li.appendChild(b);
        if (card.printed) {
          // What the card's face prints (the insurance form asks the birth date and sex).
          var face = document.createElement("small");
          face.className = "hint tray-printed";
          face.dataset.testid = "tray-printed-" + card.name;
          face.textContent = msg("tray-printed", {
            name: card.printed.name,
            // A Japanese page shows the birth date in the era, as the card prints it.
            birth: document.documentElement.lang === "ja" && card.printed.birth_date_era
              ? card.printed.birth_date_era
              : card.printed.birth_date,
            sex: msg("tray-sex-" + card.printed.sex)
          });
          li.appendChild(face);
        }
        list.appendChild(li);
      });
    }
    // `note`: why the last press did nothing (shown until the next press). The promise ends
    // once the tray shows the agent's state.
    function refresh(note) {
      return agent("/tray").then(function (r) {
        if (r.status !== 200) throw r;
        err.textContent = typeof note === "string" ? note : "";
        err.hidden = !err.textContent;
        render(r.body);
      }).catch(function () { err.textContent = msg("tray-unavailable"); err.hidden = false; });
    }
    // Presses reach the agent one after another, each once the tray shows the one before:
    // "remove" then at once another card's "insert" sent both at a time, and the insert could
    // reach the agent first and be refused as a second card (on a loaded machine).
    var pressed = Promise.resolve();
    root.addEventListener("click", function (e) {
      var b = e.target.closest("button");
      if (!b) return;
      var card = b.dataset.card;
      pressed = pressed.then(function () {
        var inserted = $("button[data-card].btn-primary", list);
        var done = card
          ? agent("/tray/insert", "POST", { card: card })
          : agent("/tray/remove", "POST", {});
        // A reader holds one card: the agent refuses a second one (409 tray_busy); say so.
        return done.then(function (r) {
          var busy = r.status === 409 && inserted && inserted.dataset.card !== card;
          return refresh(busy ? msg("tray-busy", { name: inserted.dataset.card }) : "");
        }, function () { return refresh(); });
      });
    });
    refresh();
    if (window.EventSource) {
      var es = new EventSource(AGENT + "/events");
      es.addEventListener("card", refresh);
      window.addEventListener("pagehide", function () { es.close(); });
    }
  }

  tray();
})();
