/* madoguchi desk pages: card operations between the card agent (loopback) and the server API.
 *
 * No inline script or style anywhere (CSP): configuration comes from #desk-config's data
 * attributes, and every text shown comes from <template id="msg-..."> elements the server
 * rendered in the page's language. The PIN is typed into the agent's own PIN pad (an iframe of
 * the agent's origin); this script never sees it.
 */
(function () {
  "use strict";

  var cfgEl = document.getElementById("desk-config");
  if (!cfgEl) return;
  var cfg = cfgEl.dataset;
  var AGENT = cfg.agentOrigin.replace(/\/$/, "");
  var visitRef = cfg.visitRef || null;
  var ended = false;

  var $ = window.madoguchi.$;
  var msg = window.madoguchi.msg;

  // Every call names the visit this page shows (X-Madoguchi-Visit): the server refuses one for
  // another visit before doing anything (409 visit_changed), so a tab left in the background on
  // the previous resident's visit, whose poll has not yet noticed the change, acts on nothing.
  function api(path, method, body) {
    var headers = { "Content-Type": "application/json", "X-CSRFToken": cfg.csrf };
    if (visitRef) headers["X-Madoguchi-Visit"] = visitRef;
    return fetch(cfg.api + path, {
      method: method || "GET",
      credentials: "same-origin",
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(window.madoguchi.asJson).then(function (r) {
      if (r.status === 409 && r.body && r.body.code === "visit_changed") visitEnded(said(r.body));
      return r;
    });
  }

  function agent(path, method, body) { return window.madoguchi.agent(AGENT, path, method, body); }

  // A refusal's sentence in the page's language (the API answers in English, Japanese beside).
  function said(body) { return (cfg.lang === "en" ? body.message : body.message_ja) || ""; }

  // The error to throw for a refused call: the server's sentence, or the page's generic one
  // when the answer carries none (a proxy's page, a body that is not JSON).
  function refusal(r) { return { serverMessage: said(r.body) || msg("generic") }; }

  // --- status line and errors ----------------------------------------------------------------

  function status(text) {
    var el = $("[data-role=flow-status]");
    if (el) el.textContent = text || "";
  }

  function fail(text) {
    var el = $("[data-role=flow-error]");
    status("");
    hidePinpad();
    if (el) { el.textContent = text; el.hidden = false; el.focus && el.focus(); }
    busy(false);
  }

  function clearError() {
    var el = $("[data-role=flow-error]");
    if (el) { el.hidden = true; el.textContent = ""; }
  }

  function busy(on) {
    var handover = $("[data-action=start-handover]");
    document.querySelectorAll("[data-action=start-visit],[data-action=sign-completion],[data-action=read-resident]," +
      "[data-action=start-handover],[data-action=authenticate-representative]")
      .forEach(function (b) { b.disabled = !!on || (b === handover && b.dataset.ready !== "1"); });
  }

  // --- PIN pad (the agent's page in an iframe) and request polling -----------------------------

  var currentRequest = null;
  var waitingForCard = null;  // the wait for a card to be placed: {stop}
  var cancelPressed = false;  // since the flow began (`begin`)

  // A flow begins: no error shown, its buttons disabled, no Cancel of an earlier flow pending.
  function begin() {
    clearError();
    busy(true);
    cancelPressed = false;
  }

  function showPinpad(url) {
    var panel = $("[data-role=pinpad-panel]");
    var frame = $("[data-role=pinpad-frame]");
    if (!panel || !frame) return;
    frame.src = url + (url.indexOf("?") < 0 ? "?" : "&") + "lang=" + encodeURIComponent(cfg.lang || "ja");
    panel.hidden = false;
    panel.scrollIntoView({ block: "center" });
    frame.focus();
  }

  function hidePinpad() {
    var panel = $("[data-role=pinpad-panel]");
    var frame = $("[data-role=pinpad-frame]");
    if (frame) frame.removeAttribute("src");
    if (panel) panel.hidden = true;
  }

  function waitFor(requestId) {
    return agent("/requests/" + requestId + "?wait=25").then(function (r) {
      if (r.status !== 200) throw { code: r.body.error || "card_error" };
      if (r.body.status === "pending") return waitFor(requestId);
      if (r.body.status === "done") return r.body.result;
      throw { code: r.body.error || r.body.status };
    });
  }

  // Ask the agent for a card operation; resolves with the operation's result once the PIN is in.
  function cardOperation(path, body) {
    var requestId = null;
    return agent(path, "POST", body).then(function (r) {
      if (r.status === 409) throw { code: "no-card" };
      if (r.status !== 200) throw { code: r.body.error || "card_error", message: r.body.message };
      requestId = r.body.request_id;
      currentRequest = r.body.request_id;
      // Cancel pressed while this request was on its way: cancelled before the PIN pad shows.
      if (cancelPressed) {
        agent("/requests/" + requestId + "/cancel", "POST", {});
      } else {
        showPinpad(r.body.pinpad_url);
        status(msg("waiting-pin"));
      }
      return waitFor(r.body.request_id);
    }, function () { throw { code: "agent-unreachable" }; }).then(function (result) {
      currentRequest = null;
      hidePinpad();
      return result;
    }, function (err) {
      currentRequest = null;
      if (err && err.code === "pin_blocked") reportPinBlocked(path, requestId);
      throw err;
    });
  }

  // A PIN blocked at the desk is an incident: the agent tells only this page, so tell the server,
  // naming the card in the reader (its certificate's fingerprint, which the agent reads without
  // a PIN): the server keeps one incident per card's locked PIN a day, each try added to it.
  function reportPinBlocked(path, requestId) {
    var url = cfg.api.replace(/visits\/?$/, "incidents/pin-blocked");
    agent("/status").then(function (r) {
      return (r.status === 200 && r.body.card_present && r.body.cert_fingerprint) || "";
    }, function () { return ""; }).then(function (fp) {
      fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": cfg.csrf },
        body: JSON.stringify({
          applet: path === "/read-attributes" ? "support" : "auth",
          request_id: requestId || "",
          cert_fingerprint: fp,
        }),
      });
    });
  }

  function cardError(err) {
    if (err && err.serverMessage) return fail(err.serverMessage);
    fail(window.madoguchi.cardMessage((err && err.code) || "generic"));
  }

  // Cancel (under the PIN pad, or beside the request to place a card) stops the flow: the
  // agent's pending request is cancelled (its answer then says so), a wait for a card ends at
  // once, and a request the agent answers after the press is cancelled as it comes.
  document.addEventListener("click", function (e) {
    var t = e.target.closest && e.target.closest("[data-action=cancel-card]");
    if (!t) return;
    cancelPressed = true;
    if (currentRequest) agent("/requests/" + currentRequest + "/cancel", "POST", {});
    if (waitingForCard) waitingForCard.stop();
    hidePinpad();
    busy(false);
  });

  // --- start a visit: card authentication ------------------------------------------------------

  function startVisit() {
    begin();
    var nonce;
    api("/auth-challenge", "POST", {}).then(function (r) {
      if (r.status !== 200) throw refusal(r);
      nonce = r.body.nonce;
      return cardOperation("/authenticate", { nonce: nonce, origin: r.body.origin });
    }).then(function (result) {
      status(msg("verifying"));
      return api("/start", "POST", { token: result.token, nonce: nonce });
    }).then(function (r) {
      if (r.status !== 200) throw refusal(r);
      window.location.assign(cfg.visitUrl);
    }).catch(cardError);
  }

  // --- commit: the card signs exactly the lines shown ------------------------------------------

  function shownLines() {
    var el = document.getElementById("commit-lines-data");
    try { return JSON.parse(el.dataset.lines); } catch (e) { return null; }
  }

  // Resolves once the agent reports the card `fp` on the reader, asking for it meanwhile
  // (`msgId`) with a Cancel beside (the PIN pad and its own Cancel are not shown while a card
  // is awaited); rejects when Cancel is pressed ("cancelled") or after two minutes without
  // the card (`msgId`-timeout: which card did not come, and what to do).
  var CARD_WAIT_MS = 120000;
  function waitForCard(fp, msgId) {
    var deadline = Date.now() + CARD_WAIT_MS;
    var cancel = $("[data-role=card-wait-cancel]");
    return new Promise(function (resolve, reject) {
      var over = false, timer = null;
      function finish(settle, value) {
        if (over) return;
        over = true;
        clearTimeout(timer);
        waitingForCard = null;
        if (cancel) cancel.hidden = true;
        settle(value);
      }
      if (cancelPressed) return finish(reject, { code: "cancelled" });
      waitingForCard = { stop: function () { finish(reject, { code: "cancelled" }); } };
      (function check() {
        agent("/status").then(function (r) {
          if (over) return;
          if (r.status === 200 && r.body.card_present && r.body.cert_fingerprint === fp) {
            return finish(resolve);
          }
          status(msg(msgId));
          if (cancel) cancel.hidden = false;
          if (Date.now() > deadline) return finish(reject, { code: msgId + "-timeout" });
          timer = setTimeout(check, 500);
        }, function () { finish(reject, { code: "agent-unreachable" }); });
      })();
    });
  }

  // In a visit with a second card (the legal representative's) both cards sign the same bytes
  // with the same nonce: the resident's card first, then the representative's; one commit.
  function signCompletion() {
    begin();
    var nonce, origin, transaction, first;
    var second = cfg.secondFingerprint || "";
    api("/current/completion-challenge", "POST", {}).then(function (r) {
      if (r.status === 404) { visitEnded(said(r.body)); throw { silent: true }; }
      if (r.status !== 200) throw refusal(r);
      if (JSON.stringify(r.body.display) !== JSON.stringify(shownLines())) throw { code: "changed" };
      nonce = r.body.nonce;
      origin = r.body.origin;
      transaction = r.body.transaction;
      return second ? waitForCard(cfg.cardFingerprint, "place-resident-card") : null;
    }).then(function () {
      return cardOperation("/sign-completion", {
        nonce: nonce, origin: origin, transaction: transaction,
      });
    }).then(function (result) {
      first = result.token;
      if (!second) return null;
      return waitForCard(second, "place-second-card").then(function () {
        return cardOperation("/sign-completion", {
          nonce: nonce, origin: origin, transaction: transaction,
        });
      });
    }).then(function (result) {
      status(msg("verifying"));
      var body = { token: first, nonce: nonce };
      if (result) body.second_token = result.token;
      return api("/current/complete", "POST", body);
    }).then(function (r) {
      if (r.status !== 200) {
        visitEnded(said(r.body));
        throw refusal(r);
      }
      window.location.assign(cfg.receiptUrl);
    }).catch(function (err) { if (!err || !err.silent) cardError(err); });
  }

  // --- read the resident's name (basic four attributes, input-support PIN) ---------------------

  // The files as read (EF0002-4) go to the server, which checks EF0003's J-LIS signature itself
  // and keeps the birth date, the sex and the name for the visit (none taken from this script):
  // the banner shows the name the server verified, the one procedures carry.
  function readResident() {
    begin();
    cardOperation("/read-attributes", {}).then(function (result) {
      return api("/current/basic-four", "POST", result.evidence || {});
    }).then(function (r) {
      if (r.status !== 200) throw refusal(r);
      var el = $("[data-role=resident-name]");
      if (el) el.textContent = r.body.name || "";
      status(msg("card-read"));
      // The handover may start now (the server has the birth date of the resident's card).
      var handover = $("[data-action=start-handover]");
      if (handover) handover.dataset.ready = "1";
      var hint = $("[data-role=read-first]");
      if (hint) hint.hidden = true;
      busy(false);
    }).catch(cardError);
  }

  // --- the legal representative: the explicit card handover, then their own card --------------

  function startHandover() {
    begin();
    api("/current/handover", "POST", {}).then(function (r) {
      if (r.status !== 200) throw refusal(r);
      window.location.reload();
    }).catch(cardError);
  }

  function authenticateRepresentative() {
    begin();
    var nonce;
    var body = {
      relationship: ($("[data-role=rep-relationship]") || {}).value || "parent",
      kana: ($("[data-role=rep-kana]") || {}).value || "",
      kana_confirmed: !!($("[data-role=rep-kana-confirmed]") || {}).checked,
    };
    api("/current/representative/challenge", "POST", {}).then(function (r) {
      if (r.status !== 200) throw refusal(r);
      nonce = r.body.nonce;
      return cardOperation("/authenticate", { nonce: nonce, origin: r.body.origin });
    }).then(function (result) {
      status(msg("verifying"));
      body.token = result.token;
      body.nonce = nonce;
      return api("/current/representative", "POST", body);
    }).then(function (r) {
      if (r.status !== 200) throw refusal(r);
      window.location.reload();
    }).catch(cardError);
  }

  document.addEventListener("click", function (e) {
    var t = e.target.closest && e.target.closest("[data-action]");
    if (!t) return;
    if (t.dataset.action === "start-visit") startVisit();
    else if (t.dataset.action === "sign-completion") signCompletion();
    else if (t.dataset.action === "read-resident") readResident();
    else if (t.dataset.action === "start-handover") startHandover();
    else if (t.dataset.action === "authenticate-representative") authenticateRepresentative();
  });

  // --- the open visit: banner, card presence, and its end --------------------------------------

  // A form this page sends itself (the next-resident button ends the visit) is a navigation
  // of its own: once it is on its way, the visit's end the poll or the card events see is that
  // form's doing, and going to the ended page would cut the form's answer off (the staff saw
  // "the visit ended" instead of the waiting page). A form htmx sends (its default prevented)
  // leaves the page where it is.
  var leaving = false;
  document.addEventListener("submit", function (e) { if (!e.defaultPrevented) leaving = true; });

  function visitEnded(reason) {
    if (ended || leaving) return;
    ended = true;
    var content = $("[data-role=visit-content]");
    if (content) content.replaceChildren();  // nothing of the visit stays on screen
    var banner = $("[data-testid=visit-banner]");
    if (banner) banner.remove();
    var notice = document.getElementById("ended-notice");
    if (notice) {
      $("[data-role=ended-reason]", notice).textContent = reason || "";
      notice.hidden = false;
    }
    // Once the server agrees, go to the page that says why (nothing of the visit on it). The
    // state poll answers 204 once no visit is open: no visit is a normal state, not an error.
    // A check the server does not answer (no network, a proxy's 502) counts as one too: after
    // some 10 s the notice says the server does not answer and what to do, and the page keeps
    // asking, more slowly, to go on by itself once it answers (it stayed without a word).
    var tries = 0;
    (function confirmEnd() {
      tries += 1;
      function unanswered() {
        if (tries < 20) return setTimeout(confirmEnd, 500);
        var said = notice && $("[data-role=ended-unreachable]", notice);
        if (said) said.hidden = false;
        setTimeout(confirmEnd, 5000);
      }
      api("/current/state").then(function (r) {
        if (r.status >= 500) return unanswered();
        if (r.status === 204 || r.status === 404 || r.body.reference !== visitRef || tries > 40) {
          window.location.replace(cfg.endedUrl);
        } else {
          setTimeout(confirmEnd, 250);
        }
      }, unanswered);
    })();
  }

  function setCard(state) {
    var el = $("[data-role=card-state]");
    if (!el) return;
    el.dataset.state = state;
    el.textContent = msg({ present: "card-present", absent: "card-absent", other: "card-other",
      down: "agent-down" }[state]);
  }

  var secondsLeft = null;

  function watchVisit() {
    secondsLeft = parseInt(cfg.secondsLeft, 10);
    var fp = cfg.cardFingerprint;
    // During the card handover the cards change hands: the server alone decides when a card
    // event ends the visit (a third card, or none for too long); this page follows /current.
    var handover = cfg.handover === "1";
    function allowed(f) { return f === fp || (handover && (!cfg.secondFingerprint || f === cfg.secondFingerprint)); }
    agent("/status").then(function (r) {
      if (r.status !== 200) return setCard("down");
      // Only the agent's answer says where the card is: a 200 whose body could not be read
      // (asJson gives {}) says nothing. Leaving a page (a link, a form, the language switch)
      // can cut this answer off on the page being replaced, and reading that as "no card"
      // blanked the page and ended the visit as card_removed (docs/desk.md); the SSE events
      // and the server's state poll below still see a real removal.
      if (typeof r.body.card_present !== "boolean") return;
      if (!r.body.card_present) { setCard("absent"); if (!handover) visitEnded(msg("ended-card-removed")); }
      else setCard(allowed(r.body.cert_fingerprint) ? "present" : "other");
    }, function () { setCard("down"); });

    if (window.EventSource) {
      var es = new EventSource(AGENT + "/events");
      es.addEventListener("card", function (ev) {
        var data = {};
        try { data = JSON.parse(ev.data); } catch (e) { return; }
        if (data.kind === "removed") { setCard("absent"); if (!handover) visitEnded(msg("ended-card-removed")); }
        else if (data.kind === "inserted" && allowed(data.cert_fingerprint)) setCard("present");
        else if (data.kind === "inserted") {
          setCard("other"); if (!handover) visitEnded(msg("ended-card-other"));
        }
      });
      es.onerror = function () { if (!ended) setCard("down"); };
      es.onopen = function () {
        var el = $("[data-role=card-state]");
        if (el && el.dataset.state === "down") setCard("present");
      };
      window.addEventListener("pagehide", function () { es.close(); });
    }

    // The visit's state once a second: 304 Not Modified (nearly free on the server) while
    // nothing changed; the countdowns below run here in between.
    var etag = null, confirmedAgo = null;
    function showConfirmed() {
      var c = $("[data-role=card-confirmed]");
      if (c && confirmedAgo !== null) c.textContent = msg("confirmed", { n: confirmedAgo });
    }
    (function poll() {
      if (ended || leaving) return;
      var headers = { "X-CSRFToken": cfg.csrf, "X-Madoguchi-Visit": visitRef };
      if (etag) headers["If-None-Match"] = etag;
      fetch(cfg.api + "/current/state", {
        credentials: "same-origin", cache: "no-store", headers: headers,
      }).then(function (r) {
        if (r.status === 304) { setTimeout(poll, 1000); return; }
        if (r.status === 204 || r.status === 404) { visitEnded(""); return; }
        // The desk sign-in ended (a sign-out in another tab, the sweeper): the visit ended with
        // it on the server; the page stopped showing it only at the staff's next click.
        if (r.status === 401) {
          r.json().then(function (b) { visitEnded(said(b)); }, function () { visitEnded(""); });
          return;
        }
        if (r.status !== 200) { setTimeout(poll, 2000); return; }
        etag = r.headers.get("ETag");
        return r.json().then(function (b) {
          if (b.reference !== visitRef) { visitEnded(""); return; }
          secondsLeft = b.seconds_left;
          confirmedAgo = b.card_confirmed_seconds_ago;
          showConfirmed();
          setTimeout(poll, 1000);
        });
      }).catch(function () { setTimeout(poll, 2000); });
    })();

    setInterval(function () {
      if (ended || secondsLeft === null) return;
      if (confirmedAgo !== null) { confirmedAgo += 1; showConfirmed(); }
      secondsLeft = Math.max(0, secondsLeft - 1);
      var el = $("[data-role=time-left]");
      if (el) {
        var m = Math.floor(secondsLeft / 60), s = secondsLeft % 60;
        el.textContent = m + ":" + (s < 10 ? "0" : "") + s;
        el.classList.toggle("warn", secondsLeft <= 60);
      }
      var warning = $("[data-role=time-warning]");
      if (warning) {
        // Said once as it starts (an alert's text set again is announced again).
        if (secondsLeft <= 60 && warning.hidden) {
          warning.hidden = false;
          warning.textContent = msg("time-warning");
        } else if (secondsLeft > 60 && !warning.hidden) {
          warning.hidden = true;
          warning.textContent = "";
        }
      }
    }, 1000);
  }

  // --- waiting page: is a card on the reader? ---------------------------------------------------

  function watchPresence() {
    var el = $("[data-role=presence]");
    if (!el) return;
    function show(present) { el.textContent = msg(present ? "presence-yes" : "presence-no"); }
    agent("/status").then(function (r) {
      if (r.status === 200 && typeof r.body.card_present === "boolean") show(r.body.card_present);
    },
      function () { el.textContent = msg("agent-unreachable"); });
    if (window.EventSource) {
      var es = new EventSource(AGENT + "/events");
      es.addEventListener("card", function (ev) {
        try { show(JSON.parse(ev.data).kind === "inserted"); } catch (e) { /* ignore */ }
      });
      window.addEventListener("pagehide", function () { es.close(); });
    }
  }

  // A page restored from the back/forward cache is reloaded: the server decides what it shows.
  window.addEventListener("pageshow", function (e) { if (e.persisted) window.location.reload(); });

  if (visitRef) watchVisit();
  watchPresence();
})();
