/*
 * «Зелёная точка» agent console. Vanilla JS, no build step; served under a CSP
 * without inline script, so every handler is attached here.
 *
 * Wire format: the console API (dispatcher/console/): cookie session + X-CSRF-Token on
 * every POST, live events over the WebSocket /api/agent/ws.
 *
 * Safety rule of this file: text that comes from the server (subscriber messages,
 * names, notes, reasons) is only ever put into the page with textContent (the el()
 * helper below). There is no innerHTML anywhere.
 */
(function () {
  "use strict";

  var PING_EVERY_MS = 25000;
  var VIEWING_EVERY_MS = 20000; // the server forgets a viewer after 30 s
  var STATS_EVERY_MS = 15000;
  var MAX_ITEMS_PER_GROUP = 100; // keeps the board fast with thousands waiting
  var MAX_RECONNECT_MS = 15000;
  // Items turn overdue by the clock alone (no event says so), and an event can be lost
  // while a socket reconnects: the board also refreshes itself this often.
  var QUEUE_REFRESH_MS = 30000;

  var DEPARTMENTS = { subscriber: "Абонентский отдел", tech: "Техподдержка" };
  var CHANNELS = { webchat: "веб-чат", telegram: "Telegram", whatsapp: "WhatsApp", viber: "Viber", sms: "SMS", phone: "телефон" };
  var WHO = { "in": "Абонент", bot: "Бот", agent: "Оператор", system: "Система" };
  var CONV_STATUS = { waiting: "ждёт оператора", assigned: "у оператора", released: "возвращён боту", closed: "закрыт", transferred: "передан" };
  var SUB_STATUS = { active: "активен", blocked: "заблокирован", frozen: "заморожен", suspended: "приостановлен", closed: "закрыт" };
  var OUTCOME_DONE = { done: "Звонок отмечен: решено.", cancelled: "Заявка отменена." };
  var AUDIT_ACTIONS = {
    login: "вход", logout: "выход", takeover: "взял разговор", message: "ответил абоненту", note: "заметка",
    release: "вернул боту", transfer: "передал", callback_claim: "взял звонок", callback_result: "итог звонка", presence: "статус",
    callback_done: "звонок: решено", callback_no_answer: "звонок: не ответил", callback_cancelled: "звонок: отменён",
  };
  var TARGETS = { conversation: "разговор №", callback: "звонок №" };
  var PRESENCE = { online: "на линии", away: "отошёл", offline: "не в сети" };

  // ---- tiny DOM helpers -----------------------------------------------------------------
  function $(id) { return document.getElementById(id); }

  /** Build an element. Children that are strings become text nodes: never parsed as HTML. */
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (name) {
        var value = attrs[name];
        if (value === null || value === undefined || value === false) return;
        if (name === "class") node.className = value;
        else if (name === "text") node.textContent = value;
        else if (name === "dataset") Object.keys(value).forEach(function (k) { node.dataset[k] = value[k]; });
        else node.setAttribute(name, value === true ? "" : String(value));
      });
    }
    (children || []).forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function show(node, visible) { node.hidden = !visible; }

  function plural(n, one, few, many) {
    var m10 = n % 10, m100 = n % 100;
    if (m10 === 1 && m100 !== 11) return one;
    if (m10 >= 2 && m10 <= 4 && (m100 < 12 || m100 > 14)) return few;
    return many;
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined || isNaN(seconds)) return "—";
    seconds = Math.max(0, Math.round(seconds));
    if (seconds < 60) return seconds + " с";
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " мин";
    var hours = Math.floor(minutes / 60);
    if (hours < 48) return hours + " ч " + String(minutes % 60).padStart(2, "0") + " мин";
    return Math.floor(hours / 24) + " дн " + (hours % 24) + " ч";
  }

  function clock(iso) {
    if (!iso) return "";
    var d = new Date(iso);
    if (isNaN(d)) return "";
    var time = d.toLocaleTimeString("ru-RU", { hour: "2-digit", minute: "2-digit" });
    var today = new Date();
    if (d.toDateString() === today.toDateString()) return time;
    return d.toLocaleDateString("ru-RU", { day: "numeric", month: "short" }) + " " + time;
  }

  function money(value) {
    if (value === null || value === undefined || value === "") return "—";
    var n = Number(value);
    if (isNaN(n)) return String(value);
    return n.toLocaleString("ru-RU", { minimumFractionDigits: 2, maximumFractionDigits: 2 }) + " ₽";
  }

  /** +79001234567 → +7 900 123-45-67 (easier to dial); other numbers as they are. */
  function phoneText(phone) {
    var m = /^\+7(\d{3})(\d{3})(\d{2})(\d{2})$/.exec(phone || "");
    return m ? "+7 " + m[1] + " " + m[2] + "-" + m[3] + "-" + m[4] : (phone || "");
  }

  function label(map, key) { return key === null || key === undefined ? "—" : (map[key] || String(key)); }

  function isTyping(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  // ---- toast --------------------------------------------------------------------------
  var toastTimer = null;
  function toast(message, kind) {
    var node = $("toast");
    node.textContent = message;
    node.className = "toast" + (kind ? " toast--" + kind : "");
    show(node, true);
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { show(node, false); }, kind === "error" ? 8000 : 4000);
  }

  // ---- API ----------------------------------------------------------------------------
  function ApiError(status, code, message) {
    this.status = status;
    this.code = code;
    this.message = message;
  }

  function russianError(status, code, retryAfter) {
    if (status === 0) return "Нет связи с сервером. Проверьте сеть и повторите.";
    if (status === 404) return "Не найдено: обращение закрыто или не относится к вашим очередям.";
    if (status === 409 && code === "taken") return "Этот разговор уже взял другой оператор.";
    if (status === 409) return "Сейчас это недоступно: разговор у другого оператора или уже закрыт.";
    if (status === 413) return "Слишком длинный текст: сократите его.";
    if (status === 422 || status === 400) return "Проверьте введённые данные.";
    if (status === 429) {
      var minutes = Math.max(1, Math.ceil((Number(retryAfter) || 60) / 60));
      return "Слишком много попыток. Повторите через " + minutes + " " + plural(minutes, "минуту", "минуты", "минут") + ".";
    }
    if (status === 403) return "Действие отклонено. Обновите страницу и повторите.";
    return "Сервер временно недоступен. Повторите через минуту.";
  }

  /** One call to the console API. POSTs carry the CSRF token; a 401 means the session is over. */
  async function api(method, path, body) {
    var headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET" && state.csrf) headers["X-CSRF-Token"] = state.csrf;
    var response;
    try {
      response = await fetch(path, {
        method: method,
        headers: headers,
        credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new ApiError(0, "network", russianError(0));
    }
    var data = null;
    if (response.status !== 204) {
      try { data = await response.json(); } catch (e) { data = null; }
    }
    if (!response.ok) {
      var code = data && data.error ? data.error.code : null;
      if (response.status === 401 && path !== "/api/agent/login") sessionOver();
      throw new ApiError(response.status, code, russianError(response.status, code, response.headers.get("Retry-After")));
    }
    return { status: response.status, data: data };
  }

  function reportError(error) {
    if (error instanceof ApiError) {
      if (error.status !== 401) toast(error.message, "error");
      return;
    }
    toast("Что-то пошло не так. Обновите страницу.", "error");
    if (window.console) console.error(error);
  }

  // ---- state --------------------------------------------------------------------------
  var state = {
    csrf: null,
    agent: null,
    items: [],
    fetchedAt: 0,
    selected: null, // "conversation:12" | "callback:5"
    conversation: null, // the open conversation body + local delivery results
    total: 0, // open items in the agent's queues (the list holds the oldest page of them)
    wanted: null, // id of the conversation the agent asked for last
    cannedShown: null, // the department whose canned replies are on screen
    scope: null, // /api/agent/me "scope": the cities and departments to filter by and transfer to
    callback: null, // the callback shown in the callback pane
    canned: {}, // department -> replies
    tab: "queue",
    stats: null, // the last statistics, redrawn when the filter changes
    unread: new Set(), // ids of held conversations with subscriber lines not seen yet
  };

  function me() { return state.agent ? state.agent.login : null; }
  function itemKey(kind, id) { return kind + ":" + id; }

  // ---- login / session ----------------------------------------------------------------
  async function boot() {
    bindEvents();
    try {
      var result = await api("GET", "/api/agent/me");
      startConsole(result.data);
    } catch (e) {
      showLogin(e instanceof ApiError && e.status !== 401 ? e.message : null);
    }
  }

  function showLogin(message) {
    stopLive();
    state.agent = null;
    state.csrf = null;
    state.items = [];
    state.scope = null;
    state.canned = {}; // they carry the agent's name
    state.cannedShown = null;
    state.unread.clear();
    document.title = BASE_TITLE;
    show($("boot"), false);
    show($("console-view"), false);
    show($("login-view"), true);
    var error = $("login-error");
    error.textContent = message || "";
    show(error, Boolean(message));
    $("login-password").value = "";
    ($("login-login").value ? $("login-password") : $("login-login")).focus();
  }

  function sessionOver() {
    if (!state.agent) return;
    showLogin("Сессия закончилась. Войдите снова.");
  }

  async function login(event) {
    event.preventDefault();
    var loginValue = $("login-login").value.trim();
    var password = $("login-password").value;
    var error = $("login-error");
    if (!loginValue || !password) {
      error.textContent = "Введите логин и пароль.";
      show(error, true);
      return;
    }
    $("login-submit").disabled = true;
    try {
      var result = await api("POST", "/api/agent/login", { login: loginValue, password: password });
      var body = result.data;
      body.presence = body.presence || "online";
      startConsole(body);
    } catch (e) {
      error.textContent = e.status === 401 ? "Неверный логин или пароль." : e.message;
      show(error, true);
      $("login-password").value = "";
      $("login-password").focus();
    } finally {
      $("login-submit").disabled = false;
    }
  }

  async function logout() {
    try { await api("POST", "/api/agent/logout"); } catch (e) { /* the session ends either way */ }
    closePanes();
    showLogin(null);
  }

  function startConsole(body) {
    state.csrf = body.csrf_token;
    state.agent = body.agent;
    state.scope = body.scope || null;
    show($("boot"), false);
    show($("login-view"), false);
    show($("console-view"), true);
    var agent = body.agent;
    $("agent-name").textContent = agent.name ? agent.name + " (" + agent.login + ")" : agent.login;
    $("presence").value = body.presence || "online";
    show($("tab-stats"), Boolean(agent.supervisor));
    show($("shortcut-stats"), Boolean(agent.supervisor));
    fillFilters();
    switchTab("queue");
    loadQueue();
    startLive();
    if (!state.scope) loadScope(); // the login answer does not carry it
    $("next-callback").focus();
  }

  /** The cities and departments the agent may filter by and transfer to (every city for "all"). */
  async function loadScope() {
    try {
      var result = await api("GET", "/api/agent/me");
      state.scope = result.data.scope || null;
      fillFilters();
    } catch (e) { /* the filters still list the cities in the queue */ }
  }

  async function setPresence() {
    var status = $("presence").value;
    try {
      await api("POST", "/api/agent/presence", { status: status });
      toast("Статус: " + PRESENCE[status] + ".");
    } catch (e) { reportError(e); }
  }

  // ---- filters ------------------------------------------------------------------------
  var FILTER_KEY = "ispConsole.filters";

  function savedFilters() {
    try { return JSON.parse(localStorage.getItem(FILTER_KEY)) || {}; } catch (e) { return {}; }
  }

  function knownCities() {
    var cities = (state.agent.cities || []).filter(function (c) { return c && c !== "all"; });
    var scoped = state.scope ? state.scope.cities : [];
    scoped.forEach(function (c) { if (cities.indexOf(c) < 0) cities.push(c); });
    state.items.forEach(function (item) { if (item.city && cities.indexOf(item.city) < 0) cities.push(item.city); });
    return cities.sort(function (a, b) { return a.localeCompare(b, "ru"); });
  }

  function fillSelect(select, options, value) {
    clear(select);
    options.forEach(function (option) { select.appendChild(el("option", { value: option[0], text: option[1] })); });
    select.value = options.some(function (o) { return o[0] === value; }) ? value : options[0][0];
  }

  function fillFilters() {
    var saved = savedFilters();
    var cities = [["", "Все города"]].concat(knownCities().map(function (c) { return [c, c]; }));
    fillSelect($("filter-city"), cities, $("filter-city").value || saved.city || "");
    var deps = state.scope
      ? state.scope.departments.map(function (d) { return [d.id, d.title]; })
      : (state.agent.departments || []).filter(function (d) { return d !== "all"; }).map(function (d) { return [d, label(DEPARTMENTS, d)]; });
    if (!deps.length) deps = Object.keys(DEPARTMENTS).map(function (d) { return [d, label(DEPARTMENTS, d)]; });
    var depOptions = [["", "Все отделы"]].concat(deps);
    fillSelect($("filter-department"), depOptions, $("filter-department").value || saved.department || "");
  }

  function onFilterChange() {
    try {
      localStorage.setItem(FILTER_KEY, JSON.stringify({ city: $("filter-city").value, department: $("filter-department").value }));
    } catch (e) { /* private mode: filters simply do not persist */ }
    renderQueue();
  }

  // ---- queue board --------------------------------------------------------------------
  var queueLoading = null;
  var queueAgain = false;
  // "viewers" frames that arrived while a snapshot was on its way: the snapshot may
  // predate them, so they are laid over it (a frame has no queue change to refetch on).
  var viewersDuringLoad = {};

  /** Refetch the queue; calls that arrive during a fetch collapse into one more fetch. */
  async function loadQueue() {
    if (queueLoading) { queueAgain = true; return queueLoading; }
    queueLoading = (async function () {
      try {
        do {
          queueAgain = false;
          viewersDuringLoad = {};
          var result = await api("GET", "/api/agent/queue");
          state.items = (result.data && result.data.items) || [];
          state.items.forEach(function (item) {
            var late = viewersDuringLoad[itemKey(item.kind, item.id)];
            if (late) item.viewers = late;
          });
          state.total = result.data && typeof result.data.total === "number" ? result.data.total : state.items.length;
          state.fetchedAt = Date.now();
          updateTitle();
          var before = $("filter-city").options.length;
          if (knownCities().length + 1 !== before) fillFilters();
          renderQueue();
        } while (queueAgain);
      } catch (e) {
        reportError(e);
      } finally {
        queueLoading = null;
      }
    })();
    return queueLoading;
  }

  var queueTimer = null;
  function queueChanged() {
    clearTimeout(queueTimer);
    queueTimer = setTimeout(loadQueue, 100);
  }

  function visibleItems() {
    var city = $("filter-city").value;
    var department = $("filter-department").value;
    return state.items.filter(function (item) {
      return (!city || item.city === city) && (!department || item.department === department);
    });
  }

  function waitedSeconds(item) {
    return (item.waiting_seconds || 0) + Math.floor((Date.now() - state.fetchedAt) / 1000);
  }

  function renderQueue() {
    var container = $("queue");
    var focusedKey = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.key : null;
    var items = visibleItems();
    var groups = new Map();
    items.forEach(function (item) {
      var key = (item.city || "Город не указан") + "\u0000" + item.department;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(item);
    });
    var keys = Array.from(groups.keys()).sort(function (a, b) { return a.localeCompare(b, "ru"); });
    clear(container);
    if (!items.length) {
      container.appendChild(el("p", { class: "queue__empty", text: state.items.length ? "В выбранных очередях никто не ждёт." : "Очередь пуста. Новые обращения появятся здесь сами." }));
    }
    keys.forEach(function (key) {
      var list = groups.get(key);
      var parts = key.split("\u0000");
      var overdue = list.filter(function (i) { return i.overdue; }).length;
      var section = el("section", { class: "group" }, [
        el("h3", { class: "group__title" }, [
          el("span", { text: parts[0] + " · " + label(DEPARTMENTS, parts[1]) }),
          el("span", { class: "group__count", title: "обращений в очереди", text: String(list.length) }),
          overdue ? el("span", { class: "badge badge--overdue", text: "просрочено: " + overdue }) : null,
        ]),
      ]);
      var ul = el("ul", { class: "group__items" });
      list.slice(0, MAX_ITEMS_PER_GROUP).forEach(function (item) { ul.appendChild(el("li", null, [queueItem(item)])); });
      section.appendChild(ul);
      if (list.length > MAX_ITEMS_PER_GROUP) {
        section.appendChild(el("p", { class: "group__more", text: "и ещё " + (list.length - MAX_ITEMS_PER_GROUP) + " в этой очереди" }));
      }
      container.appendChild(section);
    });
    var total = items.length;
    var overdueTotal = items.filter(function (i) { return i.overdue; }).length;
    var summary = total
      ? "В очереди " + total + (overdueTotal ? ", просрочено " + overdueTotal : "") + ", дольше всех ждёт " + duration(Math.max.apply(null, items.map(waitedSeconds)))
      : "";
    // the API sends the oldest page only; say how many more there are
    if (state.total > state.items.length) summary += (summary ? ". " : "") + "Показаны самые старые " + state.items.length + " из " + state.total + ".";
    $("queue-summary").textContent = summary;
    if (focusedKey) {
      var again = container.querySelector('[data-key="' + CSS.escape(focusedKey) + '"]');
      if (again) again.focus();
    }
  }

  function queueItem(item) {
    var key = itemKey(item.kind, item.id);
    var mine = item.assigned_to && item.assigned_to === me();
    var classes = "item item--" + item.kind + (item.overdue ? " item--overdue" : "") + (item.kind === "conversation" && state.unread.has(item.id) ? " item--unread" : "") + (mine ? " item--mine" : "") + (state.selected === key ? " item--selected" : "");
    var title = item.kind === "callback" ? (item.topic || "Обратный звонок") : (item.preview || item.topic || "Разговор");
    var viewers = (item.viewers || []).filter(function (v) { return v !== me(); });
    var button = el("button", { type: "button", class: classes, dataset: { key: key }, "aria-current": state.selected === key ? "true" : null }, [
      el("span", { class: "item__line" }, [
        el("span", { class: "kind kind--" + item.kind, text: item.kind === "callback" ? "Звонок" : "Чат" }),
        item.channel ? el("span", { class: "channel", text: label(CHANNELS, item.channel) }) : null,
        el("span", { class: "item__title", text: title }),
        el("span", { class: "item__wait", dataset: { waitFor: key }, text: duration(waitedSeconds(item)) }),
      ]),
      el("span", { class: "item__line item__line--meta" }, [
        item.kind === "conversation" && item.preview && item.topic ? el("span", { text: item.topic }) : null,
        item.phone ? el("span", { class: "item__phone", text: phoneText(item.phone) }) : null,
        item.attempts ? el("span", { text: "попыток: " + item.attempts }) : null,
        item.due_at ? el("span", { title: "Запланирован на", text: (item.attempts ? "повтор с " : "с ") + clock(item.due_at) }) : null,
        item.overdue ? el("span", { class: "badge badge--overdue", text: "просрочено" }) : null,
        item.assigned_to ? el("span", { class: "badge" + (mine ? " badge--mine" : ""), text: mine ? "у вас" : "у " + item.assigned_to }) : null,
        item.kind === "conversation" && state.unread.has(item.id) ? el("span", { class: "badge badge--unread", text: "новое сообщение" }) : null,
        viewers.length ? el("span", { class: "item__viewers", title: "Сейчас смотрят", text: "смотрят: " + viewers.join(", ") }) : null,
      ]),
    ]);
    button.addEventListener("click", function () { openItem(item.kind, item.id); });
    return button;
  }

  var BASE_TITLE = document.title;

  /** The tab title counts what needs the agent: unread held chats and unassigned items. */
  function updateTitle() {
    var waiting = state.items.filter(function (i) { return !i.assigned_to; }).length + Math.max(0, state.total - state.items.length);
    var parts = [];
    if (state.unread.size) parts.push("✉ " + state.unread.size);
    if (waiting) parts.push(String(waiting));
    document.title = (parts.length ? "(" + parts.join(" · ") + ") " : "") + BASE_TITLE;
  }

  function tickWaits() {
    if (!state.agent || state.tab !== "queue") return;
    var byKey = {};
    state.items.forEach(function (item) { byKey[itemKey(item.kind, item.id)] = item; });
    document.querySelectorAll("[data-wait-for]").forEach(function (node) {
      var item = byKey[node.dataset.waitFor];
      if (item) node.textContent = duration(waitedSeconds(item));
    });
  }

  function findItem(kind, id) {
    for (var i = 0; i < state.items.length; i++) {
      if (state.items[i].kind === kind && state.items[i].id === id) return state.items[i];
    }
    return null;
  }

  function moveInQueue(step) {
    var buttons = Array.from(document.querySelectorAll("#queue .item"));
    if (!buttons.length) return;
    var index = buttons.indexOf(document.activeElement);
    var next = index < 0 ? 0 : Math.min(buttons.length - 1, Math.max(0, index + step));
    buttons[next].focus();
  }

  function focusQueue() {
    switchTab("queue");
    var selected = document.querySelector("#queue .item--selected") || document.querySelector("#queue .item");
    if (selected) selected.focus();
    else $("next-callback").focus();
  }

  // ---- panes --------------------------------------------------------------------------
  function showPane(name) {
    show($("empty-pane"), name === "empty");
    show($("conversation-pane"), name === "conversation");
    show($("callback-pane"), name === "callback");
  }

  function closePanes() {
    stopViewing();
    state.wanted = null;
    state.selected = null;
    state.conversation = null;
    state.callback = null;
    showPane("empty");
    if (state.agent) renderQueue();
  }

  function openItem(kind, id) {
    if (kind === "conversation") openConversation(id);
    else {
      var item = findItem(kind, id);
      if (item) showCallback(item, item.assigned_to === me());
    }
  }

  // ---- conversation -------------------------------------------------------------------
  /** Fetch and show a conversation. Answers that arrive after the agent moved on (closed
   *  it, opened something else) are dropped, so a late refresh never reopens a pane. */
  async function openConversation(id) {
    state.wanted = id;
    try {
      var result = await api("GET", "/api/agent/conversations/" + id);
      if (state.wanted !== id) return;
      var again = state.conversation && state.conversation.id === id;
      setConversation(result.data, true);
      if (!again) startViewing("conversations", id);
    } catch (e) {
      reportError(e);
      if (e.status === 404) queueChanged();
    }
  }

  /** Show a conversation body; keeps the delivery results and not-yet-stored lines of the
   *  previous copy of the same conversation (the transcript is written in batches). */
  function setConversation(body, fresh) {
    var previous = state.conversation && state.conversation.id === body.id ? state.conversation : null;
    body.transcript = mergeTranscript(previous ? previous.transcript : [], body.transcript || []);
    state.conversation = body;
    state.callback = null;
    state.selected = itemKey("conversation", body.id);
    state.unread.delete(body.id);
    updateTitle();
    showPane("conversation");
    renderConversationHead();
    renderTranscript();
    renderSubscriber(body.subscriber);
    renderNotes();
    loadCanned(body.department);
    renderQueue();
    if (fresh && !previous) $("transcript").scrollTop = $("transcript").scrollHeight;
  }

  function lineKey(line) { return line.direction + "\u0000" + (line.author || "") + "\u0000" + line.text; }

  function mergeTranscript(oldLines, newLines) {
    var pool = new Map();
    oldLines.forEach(function (line) {
      var key = lineKey(line);
      if (!pool.has(key)) pool.set(key, []);
      pool.get(key).push(line);
    });
    var merged = newLines.map(function (line) {
      var same = pool.get(lineKey(line));
      var old = same && same.shift();
      if (old && old.delivery && !line.delivery) line.delivery = old.delivery;
      return line;
    });
    // lines we saw live (or sent) that the stored transcript does not have yet
    oldLines.forEach(function (line) {
      var rest = pool.get(lineKey(line));
      if (rest && rest.indexOf(line) >= 0) merged.push(line);
    });
    return merged;
  }

  function holding() {
    return Boolean(state.conversation && state.conversation.status === "assigned" && state.conversation.assigned_to === me());
  }

  function renderConversationHead() {
    var c = state.conversation;
    $("conv-title").textContent = "Разговор №" + c.id + " · " + label(CHANNELS, c.channel);
    var status = label(CONV_STATUS, c.status);
    if (c.status === "assigned") status = c.assigned_to === me() ? "у вас" : "у оператора " + c.assigned_to;
    $("conv-meta").textContent = [c.city || "город не указан", label(DEPARTMENTS, c.department), status].join(" · ");
    var mine = holding();
    var takenByOther = c.status === "assigned" && !mine;
    show($("conv-takeover"), !mine);
    $("conv-takeover").disabled = takenByOther;
    show($("conv-release"), mine);
    show($("transfer-form"), mine);
    var reply = $("reply-text");
    reply.disabled = !mine;
    $("reply-send").disabled = !mine;
    $("reply-hint").textContent = mine
      ? "Enter — отправить, Shift+Enter — новая строка"
      : takenByOther ? "Разговор ведёт другой оператор." : "Возьмите разговор (T), чтобы ответить.";
    reply.placeholder = mine ? "Ответ абоненту…" : "Сначала возьмите разговор";
    // What the channel says before anything is sent (a paid Viber session, a closed
    // WhatsApp window): shown as text above the reply box.
    var advice = $("delivery-advice");
    advice.textContent = c.delivery_advice || "";
    show(advice, Boolean(c.delivery_advice));
    if (mine) fillTransfer(c);
    renderViewers();
  }

  function fillTransfer(c) {
    var cities = state.scope ? state.scope.transfer_cities.slice() : knownCities();
    if (c.city && cities.indexOf(c.city) < 0) cities.push(c.city);
    fillSelect($("transfer-city"), cities.map(function (x) { return [x, x]; }), $("transfer-city").value || c.city);
    var other = c.department === "tech" ? "subscriber" : "tech";
    var deps = state.scope
      ? state.scope.transfer_departments.map(function (d) { return [d.id, d.title]; })
      : Object.keys(DEPARTMENTS).map(function (d) { return [d, DEPARTMENTS[d]]; });
    fillSelect($("transfer-department"), deps, $("transfer-department").dataset.touched ? $("transfer-department").value : other);
  }

  function renderViewers() {
    var c = state.conversation;
    if (!c) return;
    var item = findItem("conversation", c.id);
    var others = (item && item.viewers ? item.viewers : []).filter(function (v) { return v !== me(); });
    var node = $("conv-viewers");
    node.textContent = others.length ? "Сейчас также смотрят: " + others.join(", ") : "";
    show(node, others.length > 0);
  }

  function renderTranscript() {
    var list = $("transcript");
    var atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    clear(list);
    state.conversation.transcript.forEach(function (line) { list.appendChild(lineNode(line)); });
    if (!list.children.length) list.appendChild(el("li", { class: "line line--system", text: "Сообщений пока нет." }));
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  function lineNode(line) {
    var who = WHO[line.direction] || line.direction;
    if (line.direction === "agent" && line.author) who = line.author === me() ? "Вы" : "Оператор " + line.author;
    var node = el("li", { class: "line line--" + line.direction + (line.delivery && line.delivery.status === "failed" ? " line--failed" : "") }, [
      el("div", { class: "line__meta" }, [
        el("span", { class: "line__who", text: who }),
        el("time", { datetime: line.at || null, text: clock(line.at) }),
      ]),
      el("div", { class: "line__text", text: line.text || "" }),
    ]);
    if (line.delivery) node.appendChild(deliveryNode(line.delivery));
    line.node = node;
    return node;
  }

  function deliveryNode(delivery) {
    if (delivery.status === "pending") return el("div", { class: "line__delivery", text: "отправляется…" });
    if (delivery.status === "sent") return el("div", { class: "line__delivery line__delivery--sent", text: "✓ доставлено" });
    return el("div", { class: "line__delivery line__delivery--failed", role: "alert", text: "✕ Не доставлено: " + (delivery.reason || "причина неизвестна") });
  }

  function appendLine(line) {
    var list = $("transcript");
    var empty = list.querySelector(".line--system:only-child");
    if (empty && !state.conversation.transcript.length) clear(list);
    state.conversation.transcript.push(line);
    var atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.appendChild(lineNode(line));
    if (atBottom || line.direction === "agent") list.scrollTop = list.scrollHeight;
  }

  function updateLine(line) {
    var old = line.node;
    var fresh = lineNode(line);
    if (old && old.parentNode) old.parentNode.replaceChild(fresh, old);
  }

  function onLiveLine(conversationId, line) {
    var c = state.conversation;
    if (!c || c.id !== conversationId) {
      var held = findItem("conversation", conversationId);
      if (line.direction === "in" && held && held.assigned_to === me()) {
        state.unread.add(conversationId); // the agent is looking at something else: flag it
        renderQueue();
        updateTitle();
      }
      return;
    }
    if (line.direction === "agent" && line.author === me()) {
      // our own message coming back: it is already on screen with its delivery result
      for (var i = 0; i < c.transcript.length; i++) {
        var mine = c.transcript[i];
        if (mine.local && !mine.echoed && mine.text === line.text) {
          mine.echoed = true;
          mine.at = line.at;
          return;
        }
      }
    }
    appendLine(line);
  }

  function renderSubscriber(sub) {
    var card = $("subscriber-card");
    clear(card);
    if (!sub) {
      card.appendChild(el("p", { class: "hint", text: "Абонент не подтвердил лицевой счёт: данных договора нет." }));
      return;
    }
    var balance = Number(sub.balance);
    var rows = [
      ["Лицевой счёт", sub.account],
      ["Баланс", money(sub.balance), !isNaN(balance) && balance < 0 ? "fact--bad" : null],
      ["Тариф", sub.tariff],
      ["Абонплата", money(sub.monthly_fee)],
      ["Статус", label(SUB_STATUS, sub.status), sub.status && sub.status !== "active" ? "fact--bad" : null],
      ["Списание", sub.next_charge_date ? new Date(sub.next_charge_date).toLocaleDateString("ru-RU") : "—"],
      ["Город", sub.city],
      ["Телефон", phoneText(sub.phone)],
    ];
    rows.forEach(function (row) {
      card.appendChild(el("dt", { text: row[0] }));
      card.appendChild(el("dd", { class: row[2] || null, text: row[1] === null || row[1] === undefined || row[1] === "" ? "—" : String(row[1]) }));
    });
  }

  function renderNotes() {
    var list = $("notes");
    clear(list);
    var notes = state.conversation.notes || [];
    if (!notes.length) list.appendChild(el("li", { class: "hint", text: "Заметок нет." }));
    notes.forEach(function (note) {
      list.appendChild(el("li", { class: "note" }, [
        el("div", { class: "note__meta", text: (note.author || "") + " · " + clock(note.at) }),
        el("div", { class: "note__text", text: note.text }),
      ]));
    });
  }

  async function loadCanned(department) {
    if (!state.canned[department]) {
      try {
        var result = await api("GET", "/api/agent/canned?department=" + encodeURIComponent(department));
        state.canned[department] = (result.data && result.data.replies) || [];
      } catch (e) {
        state.canned[department] = [];
        reportError(e);
      }
    }
    if (!state.conversation || state.conversation.department !== department) return;
    if (state.cannedShown === department) return; // unchanged: keep the list (and the focus in it)
    state.cannedShown = department;
    var list = $("canned");
    clear(list);
    var replies = state.canned[department];
    if (!replies.length) list.appendChild(el("li", { class: "hint", text: "Шаблонов для этого отдела нет." }));
    replies.forEach(function (reply) {
      var button = el("button", { type: "button", class: "canned__item", title: reply.text }, [
        el("span", { class: "canned__title", text: reply.title }),
        el("span", { class: "canned__text", text: reply.text }),
      ]);
      button.addEventListener("click", function () { insertCanned(reply.text); });
      list.appendChild(el("li", null, [button]));
    });
  }

  /** Put a canned reply into the reply box at the cursor; the agent edits and sends it. */
  function insertCanned(text) {
    var box = $("reply-text");
    if (box.disabled) {
      toast("Сначала возьмите разговор (T), потом вставьте шаблон.");
      return;
    }
    var start = box.selectionStart, end = box.selectionEnd, value = box.value;
    var before = value.slice(0, start), after = value.slice(end);
    var joiner = before && !/\s$/.test(before) ? " " : "";
    box.value = before + joiner + text + after;
    var caret = (before + joiner + text).length;
    box.focus();
    box.setSelectionRange(caret, caret);
  }

  async function takeOver() {
    var c = state.conversation;
    if (!c || holding()) return;
    $("conv-takeover").disabled = true;
    try {
      var result = await api("POST", "/api/agent/conversations/" + c.id + "/takeover");
      if (state.wanted === c.id) setConversation(result.data);
      toast("Разговор ваш: абонент видит, что подключился оператор.");
      $("reply-text").focus();
      queueChanged();
    } catch (e) {
      reportError(e);
      if (e.status === 409) openConversation(c.id);
    } finally {
      $("conv-takeover").disabled = false;
    }
  }

  async function release() {
    var c = state.conversation;
    if (!c) return;
    try {
      await api("POST", "/api/agent/conversations/" + c.id + "/release");
      toast("Разговор возвращён боту: абоненту сообщили.");
      await openConversation(c.id);
      queueChanged();
    } catch (e) { reportError(e); }
  }

  async function transfer(event) {
    event.preventDefault();
    var c = state.conversation;
    if (!c) return;
    var city = $("transfer-city").value, department = $("transfer-department").value;
    if (city === c.city && department === c.department) {
      toast("Выберите другой город или отдел.");
      return;
    }
    try {
      await api("POST", "/api/agent/conversations/" + c.id + "/transfer", { city: city, department: department });
      toast("Передано: " + city + " · " + label(DEPARTMENTS, department) + ".");
      closePanes();
      queueChanged();
      focusQueue();
    } catch (e) { reportError(e); }
  }

  async function sendReply(event) {
    if (event) event.preventDefault();
    var c = state.conversation;
    var box = $("reply-text");
    var text = box.value.trim();
    if (!c || !text) return;
    if (!holding()) {
      toast("Сначала возьмите разговор (T).");
      return;
    }
    box.value = "";
    var line = { direction: "agent", text: text, at: new Date().toISOString(), author: me(), local: true, delivery: { status: "pending" } };
    appendLine(line);
    try {
      var result = await api("POST", "/api/agent/conversations/" + c.id + "/messages", { text: text });
      line.delivery = (result.data && result.data.delivery) || { status: "sent" };
    } catch (e) {
      line.delivery = { status: "failed", reason: "не отправлено — " + e.message.replace(/\.$/, "").toLowerCase() };
      line.echoed = true;
      if (!box.value) box.value = text; // nothing typed is lost
      if (e.status === 409) openConversation(c.id);
    }
    if (state.conversation && state.conversation.id === c.id) updateLine(line);
    if (line.delivery.status === "failed") toast("Сообщение не доставлено: " + (line.delivery.reason || "причина неизвестна"), "error");
  }

  async function saveNote(event) {
    if (event) event.preventDefault();
    var c = state.conversation;
    var box = $("note-text");
    var text = box.value.trim();
    if (!c || !text) return;
    $("note-save").disabled = true;
    try {
      await api("POST", "/api/agent/conversations/" + c.id + "/notes", { text: text });
      box.value = "";
      c.notes = (c.notes || []).concat([{ text: text, at: new Date().toISOString(), author: me() }]);
      renderNotes();
    } catch (e) { reportError(e); } finally { $("note-save").disabled = false; }
  }

  // "who is viewing": repeated while a conversation or a callback is open (the server
  // forgets after 30 s); kind is the API's collection: "conversations" or "callbacks".
  var viewingTimer = null;
  function startViewing(kind, id) {
    stopViewing();
    var ping = function () {
      if (document.visibilityState === "hidden") return;
      api("POST", "/api/agent/" + kind + "/" + id + "/viewing").catch(function () { /* best effort */ });
    };
    ping();
    viewingTimer = setInterval(ping, VIEWING_EVERY_MS);
  }
  function stopViewing() { clearInterval(viewingTimer); viewingTimer = null; }

  // ---- callbacks ----------------------------------------------------------------------
  async function nextCallback() {
    switchTab("queue");
    var button = $("next-callback");
    button.disabled = true;
    try {
      var result = await api("POST", "/api/agent/callbacks/next");
      if (result.status === 204 || !result.data) {
        toast("Сейчас нет звонков, которые пора сделать.");
        return;
      }
      showCallback(result.data, true);
      queueChanged();
    } catch (e) { reportError(e); } finally { button.disabled = false; }
  }

  /** The callback pane; outcome buttons only for a callback this agent has claimed. */
  function showCallback(cb, claimed) {
    startViewing("callbacks", cb.id);
    state.wanted = null;
    state.conversation = null;
    state.callback = { data: cb, claimed: claimed };
    state.selected = itemKey("callback", cb.id);
    showPane("callback");
    $("cb-title").textContent = "Обратный звонок №" + cb.id;
    $("cb-meta").textContent = [cb.city, label(DEPARTMENTS, cb.department), claimed ? "ваш звонок" : (cb.assigned_to ? "у " + cb.assigned_to : "ждёт в очереди")].join(" · ");
    var phone = $("cb-phone");
    phone.textContent = cb.phone ? phoneText(cb.phone) : "—";
    phone.href = cb.phone ? "tel:" + cb.phone.replace(/[^+\d]/g, "") : "#";
    var details = $("cb-details");
    clear(details);
    [
      ["Тема", cb.topic || "не указана"],
      ["Лицевой счёт", cb.account_number || "—"],
      ["Попыток было", String(cb.attempts || 0)],
      ["Запланирован на", cb.due_at ? clock(cb.due_at) : "—"],
      ["Удобное время", cb.preferred_time || "любое"],
      cb.waiting_seconds !== undefined ? ["Ждёт", duration(cb.waiting_seconds)] : null,
    ].forEach(function (row) {
      if (!row) return;
      details.appendChild(el("dt", { text: row[0] }));
      details.appendChild(el("dd", { text: row[1] }));
    });
    $("cb-note").value = "";
    show($("cb-form"), claimed);
    show($("cb-claim-hint"), !claimed);
    show($("cb-result"), false);
    setOutcomeButtons(!claimed);
    renderQueue();
    if (claimed) phone.focus();
  }

  function setOutcomeButtons(disabled) {
    document.querySelectorAll("[data-outcome]").forEach(function (b) { b.disabled = disabled; });
  }

  async function recordOutcome(outcome) {
    var cb = state.callback;
    if (!cb || !cb.claimed || cb.done) return;
    setOutcomeButtons(true);
    try {
      var result = await api("POST", "/api/agent/callbacks/" + cb.data.id + "/result", { outcome: outcome, note: $("cb-note").value.trim() });
      cb.done = true;
      var data = result.data || {};
      var message = OUTCOME_DONE[outcome];
      if (outcome === "no_answer") {
        message = data.next_attempt_at
          ? "Абонент не ответил. Повторный звонок: " + clock(data.next_attempt_at) + "."
          : "Абонент не ответил, попытки исчерпаны: заявка закрыта, абоненту сообщили.";
      }
      var node = $("cb-result");
      clear(node);
      node.appendChild(document.createTextNode(message + " "));
      var again = el("button", { type: "button", class: "btn btn--primary btn--small", text: "Следующий звонок (N)" });
      again.addEventListener("click", nextCallback);
      node.appendChild(again);
      show(node, true);
      show($("cb-form"), false);
      again.focus();
      queueChanged();
    } catch (e) {
      reportError(e);
      setOutcomeButtons(false);
    }
  }

  function copyPhone() {
    var cb = state.callback;
    if (!cb || !cb.data.phone) return;
    var done = function () { toast("Номер скопирован."); };
    if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(cb.data.phone).then(done, function () { toast(cb.data.phone); });
    else toast(cb.data.phone);
  }

  // ---- supervisor ---------------------------------------------------------------------
  var statsTimer = null;

  function switchTab(tab) {
    if (tab === "stats" && !(state.agent && state.agent.supervisor)) return;
    state.tab = tab;
    show($("queue-layout"), tab === "queue");
    show($("stats-view"), tab === "stats");
    $("tab-queue").setAttribute("aria-current", tab === "queue" ? "page" : "false");
    $("tab-stats").setAttribute("aria-current", tab === "stats" ? "page" : "false");
    clearInterval(statsTimer);
    if (tab === "stats") {
      loadStats();
      statsTimer = setInterval(loadStats, STATS_EVERY_MS);
    }
  }

  async function loadStats() {
    try {
      var results = await Promise.all([api("GET", "/api/agent/stats"), api("GET", "/api/agent/audit?limit=50")]);
      state.stats = results[0].data || {};
      renderStats(state.stats);
      renderAudit((results[1].data && results[1].data.entries) || []);
    } catch (e) { reportError(e); }
  }

  function renderStats(stats) {
    var body = $("stats-body");
    clear(body);
    // the busiest queues first; quiet ones (nothing waiting, nothing done today) only on request
    var all = (stats.queues || []).slice().sort(function (a, b) {
      return (b.waiting || 0) - (a.waiting || 0) || (b.oldest_seconds || 0) - (a.oldest_seconds || 0) ||
        (a.city || "").localeCompare(b.city || "", "ru") || (a.department || "").localeCompare(b.department || "");
    });
    var totals = { waiting: 0, done: 0, failed: 0, oldest: 0 };
    all.forEach(function (q) {
      totals.waiting += q.waiting || 0;
      totals.done += q.callbacks_done_today || 0;
      totals.failed += q.callbacks_failed_today || 0;
      totals.oldest = Math.max(totals.oldest, q.waiting ? q.oldest_seconds || 0 : 0);
    });
    var showAll = $("stats-all").checked;
    var queues = all.filter(function (q) {
      return showAll || q.waiting || q.callbacks_done_today || q.callbacks_failed_today || q.avg_handle_seconds;
    });
    renderTiles(totals, stats.agents_online || 0);
    queues.forEach(function (q) {
      body.appendChild(el("tr", { class: q.waiting ? null : "row--quiet" }, [
        el("td", { text: q.city || "—" }),
        el("td", { text: label(DEPARTMENTS, q.department) }),
        el("td", { class: "num" + (q.waiting ? " num--strong" : ""), text: String(q.waiting || 0) }),
        el("td", { class: "num", text: q.waiting ? duration(q.oldest_seconds) : "—" }),
        el("td", { class: "num", text: duration(q.avg_wait_seconds) }),
        el("td", { class: "num", text: duration(q.avg_handle_seconds) }),
        el("td", { class: "num", text: String(q.callbacks_done_today || 0) }),
        el("td", { class: "num" + (q.callbacks_failed_today ? " num--bad" : ""), text: String(q.callbacks_failed_today || 0) }),
      ]));
    });
    if (!queues.length) body.appendChild(el("tr", null, [el("td", { colspan: "8", class: "hint", text: "Сегодня во всех очередях тихо." })]));
    else body.appendChild(el("tr", { class: "row--total" }, [
      el("td", { text: "Всего" }), el("td"),
      el("td", { class: "num", text: String(totals.waiting) }),
      el("td", { class: "num", text: totals.waiting ? duration(totals.oldest) : "—" }),
      el("td"), el("td"),
      el("td", { class: "num", text: String(totals.done) }),
      el("td", { class: "num", text: String(totals.failed) }),
    ]));
    $("stats-updated").textContent = "обновлено в " + new Date().toLocaleTimeString("ru-RU");
  }

  function renderTiles(totals, online) {
    var tiles = $("stats-tiles");
    clear(tiles);
    [
      [String(totals.waiting), "ждут сейчас", false],
      [totals.waiting ? duration(totals.oldest) : "—", "дольше всех ждёт", totals.oldest > 3600],
      [String(totals.done), "звонков выполнено сегодня", false],
      [String(totals.failed), "звонков не удалось сегодня", totals.failed > 0],
      [String(online), plural(online, "оператор на линии", "оператора на линии", "операторов на линии"), online === 0],
    ].forEach(function (t) {
      tiles.appendChild(el("div", { class: "tile" + (t[2] ? " tile--bad" : "") }, [
        el("span", { class: "tile__value", text: t[0] }),
        el("span", { class: "tile__label", text: t[1] }),
      ]));
    });
  }

  /** "conversation:12" → "разговор №12" */
  function auditTarget(target) {
    if (target === null || target === undefined) return "";
    var m = /^(\w+):(\d+)$/.exec(String(target));
    return m && TARGETS[m[1]] ? TARGETS[m[1]] + m[2] : String(target);
  }

  /** The message outcome is logged as "sent" / "failed: reason"; the rest is the agent's own text. */
  function auditDetail(detail) {
    if (detail === null || detail === undefined) return "";
    detail = typeof detail === "string" ? detail : JSON.stringify(detail);
    if (detail === "sent") return "доставлено";
    if (detail.indexOf("failed: ") === 0) return "не доставлено: " + detail.slice(8);
    // a transfer: "Уфа/subscriber → Уфа/tech"
    return detail.replace(/\/(subscriber|tech)\b/g, function (_, d) { return " · " + DEPARTMENTS[d]; });
  }

  function renderAudit(entries) {
    var body = $("audit-body");
    clear(body);
    if (!entries.length) body.appendChild(el("tr", null, [el("td", { colspan: "5", class: "hint", text: "Действий пока нет." })]));
    entries.forEach(function (entry) {
      body.appendChild(el("tr", null, [
        el("td", { text: clock(entry.at) }),
        el("td", { text: entry.agent || "—" }),
        el("td", { text: label(AUDIT_ACTIONS, entry.action) }),
        el("td", { text: auditTarget(entry.target) }),
        el("td", { class: "cell--detail", text: auditDetail(entry.detail) }),
      ]));
    });
  }

  // ---- live events --------------------------------------------------------------------
  var socket = null;
  var pingTimer = null;
  var reconnectTimer = null;
  var reconnectDelay = 1000;

  function setLive(on, text) {
    var node = $("live-status");
    node.textContent = text;
    node.className = "live " + (on ? "live--on" : "live--off");
  }

  function startLive() {
    stopLive();
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/agent/ws";
    setLive(false, "подключаемся…");
    var ws = new WebSocket(url); // the session cookie authenticates it
    socket = ws;
    ws.onopen = function () {
      pingTimer = setInterval(function () { if (ws.readyState === 1) ws.send(JSON.stringify({ type: "ping" })); }, PING_EVERY_MS);
    };
    ws.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame.type === "ready") {
        // The server listens for our events now: a snapshot taken from here on misses nothing.
        reconnectDelay = 1000;
        setLive(true, "онлайн");
        loadQueue(); // whatever changed while we were away
        if (state.conversation) openConversation(state.conversation.id);
        return;
      }
      onFrame(frame);
    };
    ws.onclose = function (event) {
      if (socket !== ws) return; // replaced or stopped on purpose
      clearInterval(pingTimer);
      socket = null;
      if (event.code === 4401 || event.code === 1008) {
        sessionOver();
        return;
      }
      setLive(false, "нет связи, переподключаемся…");
      reconnectTimer = setTimeout(startLive, reconnectDelay);
      reconnectDelay = Math.min(MAX_RECONNECT_MS, reconnectDelay * 2);
    };
  }

  function stopLive() {
    clearTimeout(reconnectTimer);
    clearInterval(pingTimer);
    clearInterval(statsTimer);
    stopViewing();
    if (socket) {
      var ws = socket;
      socket = null;
      try { ws.close(); } catch (e) { /* already closed */ }
    }
  }

  function onFrame(frame) {
    switch (frame.type) {
      case "queue":
        queueChanged();
        if (state.tab === "stats") statsSoon();
        break;
      case "line":
        if (frame.line) onLiveLine(frame.conversation_id, frame.line);
        break;
      case "viewers": {
        if (queueLoading) viewersDuringLoad[itemKey(frame.kind, frame.id)] = frame.viewers || [];
        var item = findItem(frame.kind, frame.id);
        if (item) {
          item.viewers = frame.viewers || [];
          var old = document.querySelector('#queue [data-key="' + CSS.escape(itemKey(frame.kind, frame.id)) + '"]');
          if (old) {
            var hadFocus = document.activeElement === old;
            var fresh = queueItem(item);
            old.parentNode.replaceChild(fresh, old);
            if (hadFocus) fresh.focus();
          }
        }
        if (frame.kind === "conversation") renderViewers();
        break;
      }
      case "conversation":
        queueChanged();
        if (state.conversation && state.conversation.id === frame.id) openConversation(frame.id);
        break;
      default:
        break; // pong and anything newer
    }
  }

  var statsSoonTimer = null;
  function statsSoon() {
    clearTimeout(statsSoonTimer);
    statsSoonTimer = setTimeout(loadStats, 1000);
  }

  // ---- keyboard -----------------------------------------------------------------------
  function onKey(event) {
    if (!state.agent) return;
    var target = event.target;
    if (event.key === "Escape") {
      if (isTyping(target)) { target.blur(); return; }
      if (state.conversation || state.callback) { closePanes(); focusQueue(); }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || isTyping(target)) return;
    var inQueue = target.closest && target.closest("#queue");
    switch (event.code) {
      case "KeyN": event.preventDefault(); nextCallback(); break;
      case "KeyQ": event.preventDefault(); focusQueue(); break;
      case "KeyS": if (state.agent.supervisor) { event.preventDefault(); switchTab("stats"); $("tab-stats").focus(); } break;
      case "KeyT": if (state.conversation) { event.preventDefault(); takeOver(); } break;
      case "KeyR": if (holding()) { event.preventDefault(); $("reply-text").focus(); } break;
      case "KeyC": {
        var first = document.querySelector("#canned .canned__item");
        if (state.conversation && first) { event.preventDefault(); first.focus(); }
        break;
      }
      case "ArrowDown": case "ArrowUp":
        if (inQueue || target === document.body) { event.preventDefault(); moveInQueue(event.code === "ArrowDown" ? 1 : -1); }
        else if (target.closest && target.closest("#canned")) {
          event.preventDefault();
          var items = Array.from(document.querySelectorAll("#canned .canned__item"));
          var i = items.indexOf(target) + (event.code === "ArrowDown" ? 1 : -1);
          if (items[i]) items[i].focus();
        }
        break;
      case "Digit1": case "Digit2": case "Digit3":
        if (state.callback && state.callback.claimed && !state.callback.done) {
          event.preventDefault();
          recordOutcome({ Digit1: "done", Digit2: "no_answer", Digit3: "cancelled" }[event.code]);
        }
        break;
      default:
        break;
    }
  }

  /** Enter submits the box's form; Shift+Enter keeps a new line. */
  function enterSubmits(textarea, submit) {
    textarea.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        submit();
      }
    });
  }

  function bindEvents() {
    $("login-form").addEventListener("submit", login);
    $("logout").addEventListener("click", logout);
    $("presence").addEventListener("change", setPresence);
    $("tab-queue").addEventListener("click", function () { switchTab("queue"); });
    $("tab-stats").addEventListener("click", function () { switchTab("stats"); });
    $("filter-city").addEventListener("change", onFilterChange);
    $("filter-department").addEventListener("change", onFilterChange);
    $("next-callback").addEventListener("click", nextCallback);
    $("conv-takeover").addEventListener("click", takeOver);
    $("conv-release").addEventListener("click", release);
    $("conv-close").addEventListener("click", function () { closePanes(); focusQueue(); });
    $("cb-close").addEventListener("click", function () { closePanes(); focusQueue(); });
    $("transfer-form").addEventListener("submit", transfer);
    $("transfer-department").addEventListener("change", function () { this.dataset.touched = "1"; });
    $("reply-form").addEventListener("submit", sendReply);
    $("note-form").addEventListener("submit", saveNote);
    enterSubmits($("reply-text"), sendReply);
    enterSubmits($("note-text"), saveNote);
    $("cb-copy").addEventListener("click", copyPhone);
    $("stats-all").addEventListener("change", function () { if (state.stats) renderStats(state.stats); });
    document.querySelectorAll("[data-outcome]").forEach(function (button) {
      button.addEventListener("click", function () { recordOutcome(button.dataset.outcome); });
    });
    document.addEventListener("keydown", onKey);
    setInterval(tickWaits, 1000);
    setInterval(function () { if (state.agent && document.visibilityState !== "hidden") loadQueue(); }, QUEUE_REFRESH_MS);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
