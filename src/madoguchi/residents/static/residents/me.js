/* The resident's own page (/me/): card sign-in through the card agent, and the page's end.
 *
 * No inline script or style (CSP): configuration comes from #me-config's data attributes and
 * every text from <template id="msg-..."> elements rendered in the page's language. The PIN is
 * typed into the agent's own PIN pad (an iframe of the agent's origin); this script never sees it.
 * Signed in, the page closes itself when the card leaves the reader (agent SSE at once, and a
 * heartbeat each second that the server checks against the certificate that signed in), after
 * the idle limit, or on "Finish"; the server applies the same limits on its own.
 */
(function () {
  "use strict";

  var cfgEl = document.getElementById("me-config");
  if (!cfgEl) return;
  var cfg = cfgEl.dataset;
  var AGENT = cfg.agentOrigin.replace(/\/$/, "");
  var FP = cfg.fingerprint || null;
  var closed = false;

  var $ = window.madoguchi.$;
  var msg = window.madoguchi.msg;
  var asJson = window.madoguchi.asJson;

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": cfg.csrf },
      body: JSON.stringify(body || {}),
    }).then(asJson);
  }

  function agent(path, method, body) { return window.madoguchi.agent(AGENT, path, method, body); }

  // --- PIN pad and the card operation -----------------------------------------------------------

  function status(text) { var el = $("[data-role=flow-status]"); if (el) el.textContent = text || ""; }

  function showPinpad(url) {
    var panel = $("[data-role=pinpad-panel]");
    var frame = $("[data-role=pinpad-frame]");
    if (!panel || !frame) return;
    frame.src = url + (url.indexOf("?") < 0 ? "?" : "&") + "lang=" + encodeURIComponent(cfg.lang || "ja");
    panel.hidden = false;
    frame.focus();
  }

  function hidePinpad() {
    var panel = $("[data-role=pinpad-panel]");
    var frame = $("[data-role=pinpad-frame]");
    if (frame) frame.removeAttribute("src");
    if (panel) panel.hidden = true;
  }

  function fail(text) {
    var el = $("[data-role=flow-error]");
    status("");
    hidePinpad();
    if (el) { el.textContent = text; el.hidden = false; }
    var b = $("[data-action=me-sign-in]");
    if (b) b.disabled = false;
  }

  var currentRequest = null;

  function waitFor(id) {
    return agent("/requests/" + id + "?wait=25").then(function (r) {
      if (r.status !== 200) throw { code: r.body.error || "card_error" };
      if (r.body.status === "pending") return waitFor(id);
      if (r.body.status === "done") return r.body.result;
      throw { code: r.body.error || r.body.status };
    });
  }

  function signIn() {
    var err = $("[data-role=flow-error]");
    if (err) err.hidden = true;
    var b = $("[data-action=me-sign-in]");
    if (b) b.disabled = true;
    var nonce;
    post(cfg.challengeUrl).then(function (r) {
      if (r.status !== 200) throw { serverMessage: cfg.lang === "en" ? r.body.message : r.body.message_ja };
      nonce = r.body.nonce;
      return agent("/authenticate", "POST", { nonce: nonce, origin: r.body.origin })
        .catch(function () { throw { code: "agent-unreachable" }; });
    }).then(function (r) {
      if (r.status === 409) throw { code: "no-card" };
      if (r.status !== 200) throw { code: r.body.error || "card_error" };
      currentRequest = r.body.request_id;
      showPinpad(r.body.pinpad_url);
      status(msg("waiting-pin"));
      return waitFor(r.body.request_id);
    }).then(function (result) {
      currentRequest = null;
      hidePinpad();
      status(msg("verifying"));
      return post(cfg.signInUrl, { token: result.token, nonce: nonce });
    }).then(function (r) {
      if (r.status !== 200) throw { serverMessage: cfg.lang === "en" ? r.body.message : r.body.message_ja };
      window.location.assign(r.body.next);
    }).catch(function (e) {
      currentRequest = null;
      if (e && e.serverMessage) return fail(e.serverMessage);
      fail(window.madoguchi.cardMessage((e && e.code) || "generic"));
    });
  }

  document.addEventListener("click", function (e) {
    var t = e.target.closest && e.target.closest("[data-action]");
    if (!t) return;
    if (t.dataset.action === "me-sign-in") signIn();
    else if (t.dataset.action === "cancel-card") {
      if (currentRequest) agent("/requests/" + currentRequest + "/cancel", "POST", {});
      hidePinpad();
      var b = $("[data-action=me-sign-in]");
      if (b) b.disabled = false;
    } else if (t.dataset.action === "sign-out") closePage("signed_out");
    else if (t.dataset.action === "show-pdf") { e.preventDefault(); showPdf(t); }
    else if (t.dataset.action === "close-pdf") closePdf(true);
  });

  // --- a kiosk's receipts and letters: inside the page, gone with it ------------------------------
  // Opened in the tab by a plain link, a PDF took the page's place: chromium's viewer has no
  // script watching the card, and the first resident's receipt stayed on the kiosk's screen
  // for the next one. Shown in a frame inside the records (the server frames it for this origin
  // only), it goes when the page empties itself on the card's removal (closePage).

  var pdfOpener = null;

  function closePdf(refocus) {
    var open = $("[data-role=pdf-viewer]");
    if (open) open.remove();
    if (refocus && pdfOpener && pdfOpener.isConnected) pdfOpener.focus();
    pdfOpener = null;
  }

  function showPdf(link) {
    closePdf(false);
    var name = link.textContent.replace(/\s+/g, " ").trim();
    var box = document.createElement("section");
    box.className = "me-pdf";
    box.setAttribute("data-role", "pdf-viewer");
    box.setAttribute("data-testid", "me-pdf-viewer");
    box.setAttribute("aria-label", name);
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn btn-primary";
    close.setAttribute("data-action", "close-pdf");
    close.setAttribute("data-testid", "me-pdf-close");
    close.textContent = msg("pdf-close");
    var frame = document.createElement("iframe");
    frame.title = name;
    // Without chromium's toolbar: its download button would leave the file on the kiosk,
    // in its downloads for the next resident to open.
    frame.src = link.href + "#toolbar=0";
    box.append(close, frame);
    link.insertAdjacentElement("afterend", box);
    pdfOpener = link;
    box.scrollIntoView({ block: "start" });
    close.focus({ preventScroll: true });
  }

  // --- signed in: the page ends with the card ----------------------------------------------------

  function closePage(reason) {
    if (closed) return;
    closed = true;
    var content = $("[data-role=me-content]");
    if (content) content.replaceChildren();  // nothing of the records stays on screen
    var banner = $("[data-testid=me-banner]");
    if (banner) banner.remove();
    if (reason === "card_removed") { var n = document.getElementById("ended-notice"); if (n) n.hidden = false; }
    var target = cfg.startUrl + "?ended=" + encodeURIComponent(reason);
    post(cfg.endUrl, { reason: reason }).then(function (r) {
      window.location.replace((r.body && r.body.next) || target);
    }, function () { window.location.replace(target); });
  }

  var usedSinceBeat = false;

  function watchCard() {
    if (window.EventSource) {
      var es = new EventSource(AGENT + "/events");
      es.addEventListener("card", function (ev) {
        var data = {};
        try { data = JSON.parse(ev.data); } catch (x) { return; }
        if (data.kind === "removed" || (data.kind === "inserted" && data.cert_fingerprint !== FP)) {
          closePage("card_removed");
        }
      });
      window.addEventListener("pagehide", function () { es.close(); });
    }
    // The server counts the session ended when no heartbeat came for its presence limit
    // (presence_lost), and a heartbeat goes only after the agent said where the card is: a
    // page whose agent stopped answering (crashed, restarting, the PC/SC service gone) kept
    // the records on the screen, the card perhaps long gone, until the idle limit, which the
    // next person's scrolling restarted. It closes when the server's limit is reached since
    // the agent last told it where the card is (`presenceLeft`: what remained of the limit
    // when the page was served; each heartbeat the server accepted restarts it).
    var presence = (parseInt(cfg.presenceSeconds, 10) || 6) * 1000;
    var presenceLeft = parseInt(cfg.presenceLeft, 10);
    var toldUntil = Date.now() + (isNaN(presenceLeft) ? presence : presenceLeft * 1000);
    function untold() {
      if (!closed && Date.now() >= toldUntil) closePage("presence_lost");
      return null;
    }
    (function beat() {
      if (closed) return;
      agent("/status").then(function (r) {
        // Only the agent's answer says where the card is: a 200 whose body could not be read
        // (asJson gives {}) says nothing. A navigation (a link, the "not me" form, the
        // language switch) can cut the answer off after its status line, and reading that as
        // "no card" ended the session as card_removed on the resident's own click
        // (docs/resident.md, "The session's end"). Saying nothing for the presence limit
        // closes the page all the same (untold).
        if (r.status !== 200 || typeof r.body.card_present !== "boolean") return untold();
        var fp = r.body.card_present ? r.body.cert_fingerprint : null;
        if (fp !== FP) { closePage("card_removed"); return null; }
        // Whether the resident used the page since the last heartbeat: typing a comment
        // loads no page, and the server's idle limit counts it only if told.
        var active = usedSinceBeat;
        usedSinceBeat = false;
        var asked = Date.now();
        return post(cfg.heartbeatUrl, { fingerprint: fp, active: active }).then(function (h) {
          if (h.status === 200) toldUntil = asked + presence;
          return h;
        });
      }, untold).then(function (r) {
        if (r && r.status === 401) closePage((r.body && r.body.reason) || "ended");
        untold();
        setTimeout(beat, 1000);
      }, function () { untold(); setTimeout(beat, 1000); });
    })();
    var idle = parseInt(cfg.idleSeconds, 10) || 120;
    var last = Date.now();
    ["click", "keydown", "scroll", "touchstart"].forEach(function (ev) {
      document.addEventListener(ev, function () { last = Date.now(); usedSinceBeat = true; },
        { passive: true });
    });
    // The warning: a third of the limit before it, at most 20 seconds.
    var warnAt = Math.min(20, Math.floor(idle / 3));
    var warning = $("[data-role=idle-warning]");
    setInterval(function () {
      if (closed) return;
      untold();  // also when the agent's /status never answers (the beat waits on it)
      if (closed) return;
      var left = idle - Math.floor((Date.now() - last) / 1000);
      if (left <= 0) { closePage("idle"); return; }
      if (!warning) return;
      if (left <= warnAt && warning.hidden) {
        $("[data-role=idle-warning-text]").textContent = msg("idle-warning").replace("{n}", left);
        warning.hidden = false;
      } else if (left > warnAt && !warning.hidden) {
        warning.hidden = true;
      }
    }, 1000);
  }

  // --- start page: is a card on the reader? kiosk: back to a clean start by itself --------------

  function watchPresence() {
    var el = $("[data-role=presence]");
    if (!el) return;
    function show(present) { el.textContent = msg(present ? "presence-yes" : "presence-no"); }
    agent("/status").then(function (r) { if (r.status === 200) show(r.body.card_present); },
      function () { el.textContent = msg("agent-unreachable"); });
    if (window.EventSource) {
      var es = new EventSource(AGENT + "/events");
      es.addEventListener("card", function (ev) {
        try { show(JSON.parse(ev.data).kind === "inserted"); } catch (x) { /* ignore */ }
      });
      window.addEventListener("pagehide", function () { es.close(); });
    }
    if (cfg.kiosk === "1" && window.location.search.indexOf("ended=") >= 0) {
      setTimeout(function () { window.location.replace(cfg.startUrl); }, 15000);
    }
  }

  window.addEventListener("pageshow", function (e) { if (e.persisted) window.location.reload(); });

  if (FP) watchCard(); else watchPresence();
})();
