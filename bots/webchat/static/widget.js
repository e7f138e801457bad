/*
 * «Зелёная точка» support chat widget. Self-contained: no build step, no CDN.
 *
 * Embed:  <script src="https://<chat host>/widget.js" defer></script>
 * Options (data-* attributes of that script tag):
 *   data-open="true"         open the panel on page load
 *   data-api="https://..."   API origin (default: where widget.js came from)
 *   data-title="..."         header title
 *   data-phone="..."         support phone shown in error messages
 *   data-greet-payload="..." button payload that starts a new conversation ("" = none)
 *
 * Wire format: bots/webchat/routes.py. The session ({session_id, token}) lives in
 * localStorage, so it survives reloads; the visible messages live in sessionStorage
 * (per tab, gone when the tab closes: a shared computer does not keep someone's balance).
 */
(function () {
  "use strict";

  if (window.__ispSupportWidget) return; // included twice
  window.__ispSupportWidget = true;

  var script = document.currentScript;
  var data = (script && script.dataset) || {};
  var scriptOrigin = script && script.src ? new URL(script.src, location.href).origin : location.origin;
  var API = (data.api || scriptOrigin).replace(/\/+$/, "");
  var TITLE = data.title || "Зелёная точка";
  var PHONE = data.phone || "+7 (8652) 333-333";
  var GREET_PAYLOAD = data.greetPayload === undefined ? "greet" : data.greetPayload;
  var MAX_TEXT = 2000;
  var KEPT_MESSAGES = 100;
  var SESSION_KEY = "ispSupport.session";
  var OPEN_KEY = "ispSupport.open";

  var TEXT = {
    launcher: "Чат поддержки",
    open: "Открыть чат поддержки",
    close: "Свернуть чат",
    subtitle: "Поддержка абонентов",
    online: "на связи",
    botOnly: "отвечает бот",
    agent: "Оператор", // no agent of the queue is online: do not promise one
    connecting: "подключаемся…",
    offline: "нет связи, переподключаемся…",
    input: "Сообщение",
    placeholder: "Напишите сообщение…",
    send: "Отправить",
    sendLabel: "Отправить сообщение",
    typing: "Печатает…",
    phoneLabel: "Ваш номер телефона",
    phonePlaceholder: "+7 900 123-45-67",
    phoneSend: "Отправить номер",
    phoneInvalid: "Введите номер полностью, например +7 900 123-45-67.",
    secret: "••••••",
    retry: "Повторить",
    network: "Нет соединения с сервером. Проверьте интернет и нажмите «Повторить».",
    server: "Сервис временно недоступен. Попробуйте ещё раз через минуту или позвоните " + PHONE + ".",
    tooLong: "Сообщение слишком длинное: сократите его до " + MAX_TEXT + " символов.",
    rejected: "Не удалось обработать сообщение. Попробуйте написать короче или иначе.",
    tooMany: "Слишком много сообщений подряд. Подождите минуту и попробуйте снова.",
    log: "Переписка с поддержкой",
    buttons: "Варианты ответа",
    rateTitle: "Оцените, пожалуйста, разговор с оператором",
    rateStar: "Оценка {n} из 5",
    rateComment: "Комментарий (необязательно)",
    rateCommentPlaceholder: "Что понравилось или что улучшить?",
    rateSend: "Отправить оценку",
    ratePick: "Выберите оценку от 1 до 5 звёзд.",
    rateThanks: "Спасибо за оценку! Она поможет нам работать лучше.",
    rateFailed: "Не удалось отправить оценку. Попробуйте ещё раз.",
  };
  var PHONE_WIDTH = 480; // the CSS breakpoint below which the panel takes the whole screen

  // -- storage (private mode or a full quota must not break the chat) ------------------
  function load(storage, key) {
    try {
      var raw = storage.getItem(key);
      return raw ? JSON.parse(raw) : null;
    } catch (e) {
      return null;
    }
  }
  function save(storage, key, value) {
    try {
      if (value === null) storage.removeItem(key);
      else storage.setItem(key, JSON.stringify(value));
    } catch (e) {
      /* storage unavailable: the chat still works for this page view */
    }
  }

  var session = load(localStorage, SESSION_KEY); // {session_id, token}
  var messages = []; // {from: "user"|"bot", text, buttons, askPhone, eventId}
  var lastEventId = null;

  function logKey() {
    return "ispSupport.log." + session.session_id;
  }
  function restoreLog() {
    var kept = session && load(sessionStorage, logKey());
    messages = (kept && kept.messages) || [];
    lastEventId = (kept && kept.lastEventId) || null;
  }
  function persistLog() {
    if (!session) return;
    var kept = messages.slice(-KEPT_MESSAGES).map(function (m) {
      return {
        from: m.from,
        text: m.text,
        buttons: m.buttons,
        askPhone: m.askPhone,
        eventId: m.eventId,
        at: m.at,
        author: m.author,
      };
    });
    save(sessionStorage, logKey(), { messages: kept, lastEventId: lastEventId });
  }

  // -- DOM -----------------------------------------------------------------------------------
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === false || value === null || value === undefined) return;
      if (name === "text") node.textContent = value;
      else if (name.slice(0, 2) === "on") node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : value);
    });
    (children || []).forEach(function (child) {
      if (child) node.appendChild(child);
    });
    return node;
  }

  var host = el("div", { id: "isp-support-widget" });
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var styles = el("link", { rel: "stylesheet", href: API + "/widget.css" });
  var container = el("div", { class: "isp-chat", hidden: true });
  styles.addEventListener("load", function () {
    container.hidden = false;
  });
  styles.addEventListener("error", function () {
    container.hidden = false;
  });

  var launcherBadge = el("span", { class: "isp-badge", hidden: true, "aria-hidden": "true" });
  var launcher = el(
    "button",
    { type: "button", class: "isp-launcher", "aria-label": TEXT.open, "aria-expanded": "false", onclick: openPanel },
    [chatIcon(), el("span", { class: "isp-launcher-text", text: TEXT.launcher }), launcherBadge]
  );

  var statusDot = el("span", { class: "isp-status-dot", "aria-hidden": "true" });
  var statusText = el("span", { class: "isp-status-text", text: TEXT.connecting });
  var closeButton = el("button", { type: "button", class: "isp-close", "aria-label": TEXT.close, onclick: closePanel }, [
    closeIcon(),
  ]);
  var header = el("div", { class: "isp-header" }, [
    el("div", { class: "isp-avatar", "aria-hidden": "true", text: "ЗТ" }),
    el("div", { class: "isp-heading" }, [
      el("div", { class: "isp-title", id: "isp-title", text: TITLE }),
      el("div", { class: "isp-status" }, [statusDot, el("span", { text: TEXT.subtitle + " · " }), statusText]),
    ]),
    closeButton,
  ]);
  // "End chat" (issue 10): the server revokes this session's tokens (POST /sessions/end),
  // then the widget forgets the session and its visible messages; the next message starts anew.
  TEXT.end = "Завершить чат";
  header.insertBefore(el("button", { type: "button", class: "isp-close isp-end", title: TEXT.end, "aria-label": TEXT.end,
    text: "Завершить", style: "width:auto;padding:0 10px;border-radius:20px;font:inherit;font-size:13px",
    onclick: function () {
      if (session) fetch(API + "/api/webchat/sessions/end", { method: "POST", credentials: "omit",
        headers: { Authorization: "Bearer " + session.token } }).catch(function () {});
      forgetSession();
      messages = [];
      renderAll();
      closePanel();
    } }), closeButton);

  var log = el("div", { class: "isp-log", role: "log", "aria-live": "polite", "aria-label": TEXT.log, tabindex: "0" });
  var typing = el("div", { class: "isp-typing", hidden: true, role: "status", "aria-label": TEXT.typing }, [
    el("span"),
    el("span"),
    el("span"),
  ]);
  var errorLine = el("div", { class: "isp-error", role: "alert", hidden: true });

  var input = el("textarea", {
    class: "isp-input",
    id: "isp-input",
    rows: "1",
    maxlength: String(MAX_TEXT),
    placeholder: TEXT.placeholder,
    "aria-label": TEXT.input,
    autocomplete: "off",
  });
  var sendButton = el("button", { type: "submit", class: "isp-send", "aria-label": TEXT.sendLabel, title: TEXT.send }, [
    sendIcon(),
  ]);
  var composer = el("form", { class: "isp-composer", onsubmit: onSubmitText }, [input, sendButton]);

  var panel = el("section", { class: "isp-panel", role: "dialog", "aria-labelledby": "isp-title", hidden: true }, [
    header,
    el("div", { class: "isp-body" }, [log, typing]),
    errorLine,
    composer,
  ]);

  container.appendChild(panel);
  container.appendChild(launcher);
  root.appendChild(styles);
  root.appendChild(container);

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      onSubmitText(event);
    }
  });
  input.addEventListener("input", autosize);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") closePanel();
  });

  function svg(path) {
    var ns = "http://www.w3.org/2000/svg";
    var icon = document.createElementNS(ns, "svg");
    icon.setAttribute("viewBox", "0 0 24 24");
    icon.setAttribute("aria-hidden", "true");
    icon.setAttribute("focusable", "false");
    var shape = document.createElementNS(ns, "path");
    shape.setAttribute("d", path);
    icon.appendChild(shape);
    return icon;
  }
  function chatIcon() {
    return svg("M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z");
  }
  function closeIcon() {
    return svg("M6 6l12 12M18 6L6 18");
  }
  function sendIcon() {
    return svg("M3 20l18-8L3 4v6l12 2-12 2z");
  }

  function autosize() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 120) + "px";
  }

  // -- rendering -----------------------------------------------------------------------------
  var URL_PATTERN = /(https?:\/\/[^\s<>«»"]+[^\s<>«»".,;:!?)])/g;
  var BULLET = /^\s*[-•*]\s+(.*)$/;
  var NUMBERED = /^\s*\d{1,2}[.)]\s+(.*)$/;

  // Simple formatting, built as DOM nodes (never innerHTML): a message cannot inject
  // markup. **bold**, lines starting with "- "/"• " or "1. " as lists, http(s) links.
  function richText(text) {
    var fragment = document.createDocumentFragment();
    var lines = text.split("\n");
    var list = null;
    var listKind = null;
    var paragraph = [];
    function flushParagraph() {
      if (!paragraph.length) return;
      var p = el("p", { class: "isp-par" });
      paragraph.forEach(function (line, i) {
        if (i) p.appendChild(el("br"));
        appendInline(p, line);
      });
      fragment.appendChild(p);
      paragraph = [];
    }
    lines.forEach(function (line) {
      var bullet = BULLET.exec(line);
      var numbered = !bullet && NUMBERED.exec(line);
      var kind = bullet ? "ul" : numbered ? "ol" : null;
      if (kind) {
        flushParagraph();
        if (!list || listKind !== kind) {
          list = el(kind, { class: "isp-list" });
          listKind = kind;
          fragment.appendChild(list);
        }
        var item = el("li");
        appendInline(item, (bullet || numbered)[1]);
        list.appendChild(item);
        return;
      }
      list = null;
      listKind = null;
      if (line.trim() === "") flushParagraph();
      else paragraph.push(line);
    });
    flushParagraph();
    return fragment;
  }

  function appendInline(parent, line) {
    // "**" toggles bold; an unpaired "**" stays as typed.
    var parts = line.split("**");
    var paired = parts.length % 2 === 1;
    parts.forEach(function (part, i) {
      var bold = paired && i % 2 === 1 && part !== "";
      if (!paired && i) part = "**" + part;
      if (paired && i % 2 === 1 && part === "") part = "****";
      var target = bold ? parent.appendChild(el("strong")) : parent;
      appendLinks(target, part);
    });
  }

  function appendLinks(parent, text) {
    var last = 0;
    text.replace(URL_PATTERN, function (url, _group, offset) {
      parent.appendChild(document.createTextNode(text.slice(last, offset)));
      // Only http(s) URLs match the pattern: no javascript: or data: links.
      parent.appendChild(el("a", { href: url, target: "_blank", rel: "noopener noreferrer", text: url }));
      last = offset + url.length;
      return url;
    });
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function clock(at) {
    var date = at ? new Date(at) : null;
    if (!date || isNaN(date.getTime())) return null;
    var hh = String(date.getHours()).padStart(2, "0");
    var mm = String(date.getMinutes()).padStart(2, "0");
    var today = new Date().toDateString() === date.toDateString();
    if (today) return hh + ":" + mm;
    return String(date.getDate()).padStart(2, "0") + "." + String(date.getMonth() + 1).padStart(2, "0") + " " + hh + ":" + mm;
  }

  function renderAll() {
    log.textContent = "";
    var lastUser = -1;
    messages.forEach(function (m, i) {
      if (m.from === "user") lastUser = i;
    });
    messages.forEach(function (m, i) {
      log.appendChild(renderMessage(m, i > lastUser));
    });
    if (ratingCard) log.appendChild(ratingCard); // a late history load must not drop it
    scrollDown();
  }

  function renderMessage(message, active) {
    var bubble = el("div", { class: "isp-bubble" }, [el("div", { class: "isp-text" }, [richText(message.text)])]);
    var shown = clock(message.at);
    var row = el("div", { class: "isp-msg isp-msg--" + message.from + (message.author ? " isp-msg--agent" : "") }, [
      message.author && message.from !== "user" ? el("div", { class: "isp-author", text: message.author }) : null,
      bubble,
      shown ? el("time", { class: "isp-time", datetime: message.at, text: shown }) : null,
    ]);
    if (message.from !== "user" && message.buttons && message.buttons.length) {
      var group = el("div", { class: "isp-buttons", role: "group", "aria-label": TEXT.buttons });
      message.buttons.forEach(function (button) {
        group.appendChild(
          el("button", {
            type: "button",
            class: "isp-button",
            disabled: !active,
            text: button.title,
            onclick: function () {
              sendTurn({ payload: button.payload }, button.title);
            },
          })
        );
      });
      row.appendChild(group);
    }
    if (message.from !== "user" && message.askPhone && active) row.appendChild(phoneForm());
    message.node = row;
    return row;
  }

  function phoneForm() {
    var id = "isp-phone-" + Math.random().toString(36).slice(2);
    var field = el("input", {
      type: "tel",
      id: id,
      class: "isp-phone-input",
      inputmode: "tel",
      autocomplete: "tel",
      placeholder: TEXT.phonePlaceholder,
      maxlength: "25",
      required: true,
    });
    var hint = el("div", { class: "isp-phone-hint", hidden: true, role: "alert" });
    var form = el(
      "form",
      {
        class: "isp-phone",
        onsubmit: function (event) {
          event.preventDefault();
          var phone = field.value.trim();
          if (phone.replace(/\D/g, "").length < 10) {
            hint.textContent = TEXT.phoneInvalid;
            hint.hidden = false;
            field.focus();
            return;
          }
          sendTurn({ text: phone }, phone);
        },
      },
      [
        el("label", { for: id, class: "isp-phone-label", text: TEXT.phoneLabel }),
        el("div", { class: "isp-phone-row" }, [
          field,
          el("button", {
            type: "submit",
            class: "isp-button isp-button--primary",
            text: TEXT.send,
            "aria-label": TEXT.phoneSend,
          }),
        ]),
        hint,
      ]
    );
    return form;
  }

  function deactivateControls() {
    Array.prototype.forEach.call(log.querySelectorAll(".isp-button"), function (b) {
      b.disabled = true;
    });
    Array.prototype.forEach.call(log.querySelectorAll(".isp-phone"), function (f) {
      f.remove();
    });
  }

  function addMessage(message) {
    if (message.from === "user") deactivateControls();
    messages.push(message);
    log.appendChild(renderMessage(message, true));
    scrollDown();
  }

  function addReplies(replies, from, eventId, at) {
    replies.forEach(function (reply, i) {
      addMessage({
        from: from,
        at: at || new Date().toISOString(),
        author: reply.author || undefined,
        text: reply.text,
        buttons: reply.buttons || [],
        askPhone: !!reply.ask_phone,
        eventId: i === 0 ? eventId : undefined,
      });
    });
    if (panel.hidden && replies.length) setUnread(unread + replies.length);
  }

  function scrollDown() {
    log.scrollTop = log.scrollHeight;
  }

  var unread = 0;
  function setUnread(count) {
    unread = count;
    launcherBadge.textContent = count > 9 ? "9+" : String(count);
    launcherBadge.hidden = count === 0;
  }

  function showError(text, retry) {
    errorLine.textContent = "";
    errorLine.appendChild(el("span", { text: text }));
    if (retry) {
      errorLine.appendChild(
        el("button", {
          type: "button",
          class: "isp-retry",
          text: TEXT.retry,
          onclick: function () {
            hideError();
            retry();
          },
        })
      );
    }
    errorLine.hidden = false;
    scrollDown(); // the error line took room from the log: keep the last message in view
  }
  function hideError() {
    errorLine.hidden = true;
    errorLine.textContent = "";
  }

  // -- HTTP ----------------------------------------------------------------------------------
  function HttpError(status) {
    this.status = status;
  }

  function request(method, path, body) {
    var headers = { "Content-Type": "application/json" };
    if (session) headers.Authorization = "Bearer " + session.token;
    return fetch(API + path, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
    }).then(function (response) {
      if (!response.ok) throw new HttpError(response.status);
      // The server renews a token as it ages (sliding expiry): keep the new one.
      var renewed = response.headers.get("X-Webchat-Token");
      if (renewed && session) {
        session.token = renewed;
        save(localStorage, SESSION_KEY, session);
      }
      return response.json();
    });
  }

  function ensureSession() {
    if (session) return Promise.resolve(false);
    return request("POST", "/api/webchat/sessions").then(function (created) {
      session = { session_id: created.session_id, token: created.token };
      save(localStorage, SESSION_KEY, session);
      messages = [];
      lastEventId = null;
      connectLive();
      return true;
    });
  }

  function forgetSession() {
    if (session) save(sessionStorage, logKey(), null);
    session = null;
    save(localStorage, SESSION_KEY, null);
    disconnectLive();
  }

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  // Turns go out one at a time, in order, even if the subscriber types fast.
  var queue = Promise.resolve();
  var busy = 0;

  function sendTurn(body, shownText) {
    hideError();
    var userMessage = null;
    if (shownText) {
      userMessage = { from: "user", text: shownText, at: new Date().toISOString() };
      addMessage(userMessage);
    }
    body.client_message_id = newId(); // a retry reuses it: the server answers it once
    var attempt = function (sessionRenewed) {
      busy += 1;
      typing.hidden = false;
      scrollDown();
      return ensureSession()
        .then(function () {
          return request("POST", "/api/webchat/messages", body);
        })
        .then(function (result) {
          if (result.inbound_was_secret && userMessage) {
            userMessage.text = TEXT.secret;
            if (userMessage.node) userMessage.node.querySelector(".isp-text").textContent = TEXT.secret;
          }
          addReplies(result.replies || [], "bot", undefined, result.at);
          persistLog();
          if (live) refreshDesk(); // a turn may have queued the conversation: its queue's agents count
        })
        .catch(function (error) {
          var status = error instanceof HttpError ? error.status : 0;
          if (status === 401 && !sessionRenewed) {
            forgetSession(); // expired (token_expired) or unknown token: start over
            return attempt(true);
          }
          persistLog();
          if (status === 413 || (status === 422 && body.text && body.text.length > MAX_TEXT)) showError(TEXT.tooLong);
          else if (status === 422 || status === 400) showError(TEXT.rejected);
          else if (status === 429) showError(TEXT.tooMany, retryLater);
          else if (status >= 500) showError(TEXT.server, retryLater);
          else showError(TEXT.network, retryLater);
        })
        .then(function () {
          busy -= 1;
          typing.hidden = busy === 0;
        });
      function retryLater() {
        queue = queue.then(function () {
          return attempt(sessionRenewed);
        });
      }
    };
    queue = queue.then(function () {
      return attempt(false);
    });
    return queue;
  }

  function onSubmitText(event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    if (text.length > MAX_TEXT) {
      showError(TEXT.tooLong);
      return;
    }
    input.value = "";
    autosize();
    sendTurn({ text: text }, text);
    input.focus();
  }

  // -- live messages (agents, asynchronous bot messages) over a WebSocket ----------------------
  var socket = null;
  var reconnectTimer = null;
  var pingTimer = null;
  var failures = 0;

  function setStatus(state) {
    statusText.textContent = TEXT[state];
    // "botOnly" is connected too: the dot says the line works, the text who answers.
    statusDot.className = "isp-status-dot isp-status-dot--" + (state === "botOnly" ? "online" : state);
    host.setAttribute("data-status", state);
  }

  // -- the support desk: are agents of our queue online, may the subscriber rate? ----------------
  var live = false;
  var agentsOnline = null; // unknown until /status answers
  var deskTimer = null;
  var DESK_EVERY = 60000;

  function showDesk() {
    if (session && !live) return; // the socket's state wins while it is down
    setStatus(agentsOnline ? "online" : "botOnly");
  }

  function refreshDesk() {
    clearTimeout(deskTimer);
    if (!session) {
      showDesk();
      return Promise.resolve();
    }
    return request("GET", "/api/webchat/status")
      .then(function (desk) {
        agentsOnline = !!desk.agents_online;
        showDesk();
        if (desk.can_rate) offerRating(desk.agent_name);
      })
      .catch(function () {
        /* keep the last known state; the next refresh may succeed */
      })
      .then(function () {
        deskTimer = setTimeout(refreshDesk, DESK_EVERY);
      });
  }

  var ratingCard = null;

  function offerRating(agentName) {
    if (ratingCard) return;
    var stars = 0;
    var starButtons = [];
    var hint = el("div", { class: "isp-rate-hint", role: "alert", hidden: true });
    var comment = el("textarea", {
      class: "isp-rate-comment",
      rows: "2",
      maxlength: "1000",
      placeholder: TEXT.rateCommentPlaceholder,
      "aria-label": TEXT.rateComment,
    });
    function pick(n) {
      stars = n;
      starButtons.forEach(function (button, i) {
        button.setAttribute("aria-pressed", i < n ? "true" : "false");
        button.classList.toggle("isp-star--on", i < n);
      });
      hint.hidden = true;
    }
    for (var n = 1; n <= 5; n += 1) {
      starButtons.push(
        el("button", {
          type: "button",
          class: "isp-star",
          "aria-pressed": "false",
          "aria-label": TEXT.rateStar.replace("{n}", n),
          text: "★",
          onclick: pick.bind(null, n),
        })
      );
    }
    var submit = el("button", { type: "submit", class: "isp-button isp-button--primary", text: TEXT.rateSend });
    var form = el(
      "form",
      {
        class: "isp-rate",
        "aria-label": TEXT.rateTitle,
        onsubmit: function (event) {
          event.preventDefault();
          if (!stars) {
            hint.textContent = TEXT.ratePick;
            hint.hidden = false;
            return;
          }
          submit.disabled = true;
          request("POST", "/api/webchat/rating", { stars: stars, comment: comment.value.trim() || null })
            .then(function () {
              form.textContent = "";
              form.appendChild(el("p", { class: "isp-rate-done", role: "status", text: TEXT.rateThanks }));
            })
            .catch(function (error) {
              if (error instanceof HttpError && error.status === 409) {
                form.remove(); // rated already (another tab) or nothing to rate any more
                return;
              }
              submit.disabled = false;
              hint.textContent = TEXT.rateFailed;
              hint.hidden = false;
            });
        },
      },
      [
        el("p", { class: "isp-rate-title", text: TEXT.rateTitle + (agentName ? " (" + agentName + ")" : "") }),
        el("div", { class: "isp-stars", role: "group", "aria-label": TEXT.rateTitle }, starButtons),
        comment,
        submit,
        hint,
      ]
    );
    ratingCard = form;
    log.appendChild(form);
    scrollDown();
  }

  function connectLive() {
    if (!session || socket || !window.WebSocket) return;
    clearTimeout(reconnectTimer);
    // The token goes in the first frame, not the URL: URLs end up in access logs.
    var url = API.replace(/^http/, "ws") + "/api/webchat/ws" + (lastEventId ? "?after=" + encodeURIComponent(lastEventId) : "");
    var token = session.token;
    var ws = new WebSocket(url);
    var caughtUp = false;
    socket = ws;
    ws.onmessage = function (event) {
      var frame;
      try {
        frame = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      if (frame.type === "ready") {
        caughtUp = true;
        replayFromHistory = false; // later reconnects replay only what this tab has not seen
        failures = 0;
        live = true;
        showDesk();
        refreshDesk();
      } else if (frame.type === "replies" && replayFromHistory && !caughtUp) {
        lastEventId = frame.id; // a fresh tab shows these from the history (the transcript)
      } else if (frame.type === "replies" && !seenEvent(frame.id)) {
        lastEventId = frame.id;
        addReplies(frame.replies || [], "bot", frame.id, frame.at);
        persistLog();
        refreshDesk(); // an agent joined or left: presence and the rating offer change
      }
    };
    ws.onopen = function () {
      ws.send(JSON.stringify({ type: "auth", token: token }));
      pingTimer = setInterval(function () {
        if (ws.readyState === 1) ws.send('{"type":"ping"}');
      }, 25000);
    };
    ws.onclose = function (event) {
      clearInterval(pingTimer);
      if (socket !== ws) return; // replaced or closed on purpose
      socket = null;
      if (event.code === 4401) {
        forgetSession(); // a new session starts with the next message
        setStatus("connecting");
        return;
      }
      live = false;
      setStatus("offline");
      failures += 1;
      var delay = Math.min(30000, 1000 * Math.pow(2, failures - 1));
      reconnectTimer = setTimeout(connectLive, delay / 2 + Math.random() * (delay / 2));
    };
  }

  function disconnectLive() {
    clearTimeout(reconnectTimer);
    var ws = socket;
    socket = null;
    if (ws) ws.close(1000);
  }

  function seenEvent(id) {
    return (
      !!id &&
      messages.some(function (m) {
        return m.eventId === id;
      })
    );
  }

  window.addEventListener("online", function () {
    failures = 0;
    connectLive();
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") connectLive();
  });

  var greeted = false;

  // -- open / close ------------------------------------------------------------------------------
  function openPanel(event) {
    panel.hidden = false;
    launcher.hidden = true;
    launcher.setAttribute("aria-expanded", "true");
    setUnread(0);
    save(sessionStorage, OPEN_KEY, true);
    scrollDown();
    // Focus follows the subscriber's click; opening by itself on page load must not
    // steal focus from the page (or pop up a phone's keyboard).
    if (event) input.focus();
    restored.then(function () {
      if (!messages.length && GREET_PAYLOAD && !busy && !greeted) {
        greeted = true;
        sendTurn({ payload: GREET_PAYLOAD }, null);
      }
    });
  }

  function closePanel() {
    panel.hidden = true;
    launcher.hidden = false;
    launcher.setAttribute("aria-expanded", "false");
    save(sessionStorage, OPEN_KEY, false);
    launcher.focus();
  }

  // A new tab (or a closed one reopened) has no kept messages: show the transcript.
  function loadHistory() {
    if (!session || messages.length) return Promise.resolve();
    return request("GET", "/api/webchat/history")
      .then(function (result) {
        if (messages.length) return; // the subscriber was quicker
        messages = (result.messages || []).map(function (m) {
          var author = m.from === "agent" ? TEXT.agent : undefined; // the history names no agent
          return { from: m.from === "user" ? "user" : "bot", text: m.text, at: m.at, author: author };
        });
        renderAll();
        persistLog();
      })
      .catch(function (error) {
        if (error instanceof HttpError && error.status === 401) forgetSession();
        /* otherwise: no history this time; the chat still works */
      });
  }

  var restored = Promise.resolve();
  var replayFromHistory = false; // set once, for a tab that starts without kept messages

  // On a phone the launcher sits over the page: pad the page's end so its last lines
  // can scroll clear of it (a page that already leaves more room is left alone).
  var LAUNCHER_ROOM = 72; // 48 px launcher + 12 px margin + 12 px air (widget.css)
  function leaveRoomForLauncher() {
    var current = parseFloat(getComputedStyle(document.body).paddingBottom) || 0;
    if (current < LAUNCHER_ROOM) document.body.style.paddingBottom = LAUNCHER_ROOM + "px";
  }

  function start() {
    document.body.appendChild(host);
    restoreLog();
    replayFromHistory = !!session && !messages.length && !lastEventId;
    renderAll();
    setStatus(session ? "connecting" : "botOnly");
    if (!session) refreshDesk();
    restored = loadHistory();
    connectLive();
    var wasOpen = load(sessionStorage, OPEN_KEY);
    // data-open is for wide screens: on a phone the panel would cover the whole page
    // the subscriber came to read, so there it opens only when asked.
    var phone = window.matchMedia && window.matchMedia("(max-width: " + PHONE_WIDTH + "px)").matches;
    if (phone) leaveRoomForLauncher();
    if (wasOpen === true || (wasOpen === null && data.open === "true" && !phone)) openPanel();
  }

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
