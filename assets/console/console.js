// filmd console: served as /console/console.js under script-src 'self' (no inline script).
// Every value from the server is written with textContent, never parsed as HTML.
// The API key lives only in the input field: it is sent as X-API-Key, never put in a URL,
// localStorage, sessionStorage or a cookie.
"use strict";

(function () {
  var HISTORY_MAX = 25;
  var current = null; // the film on show
  var calls = 0;

  function $(id) { return document.getElementById(id); }

  function setText(id, value) {
    var el = $(id);
    var text = value === null || value === undefined || value === "" ? "–" : String(value);
    el.textContent = text;
    return el;
  }

  function apiKey() { return $("api-key").value.trim(); }

  function statusClass(status) {
    if (status === 0) return "network-error";
    if (status < 400) return "ok";
    if (status < 500) return "client-error";
    return "server-error";
  }

  // --- rendering --------------------------------------------------------------------------
  function showFilm(film) {
    current = film;
    if (!film) {
      setText("film-name", "No film yet: add one below");
      setText("film-studio", "");
      $("film-studio").textContent = "";
      $("film-year").textContent = "";
      setText("film-id", null);
      $("film-likes").textContent = "0";
      $("film-dislikes").textContent = "0";
      $("like").disabled = true;
      $("dislike").disabled = true;
      $("film-card").setAttribute("data-film-id", "");
      return;
    }
    $("film-name").textContent = film.name;
    $("film-studio").textContent = film.studio;
    $("film-year").textContent = film.year === null || film.year === undefined ? "" : "(" + film.year + ")";
    $("film-id").textContent = String(film.id);
    $("film-likes").textContent = String(film.likes);
    $("film-dislikes").textContent = String(film.dislikes);
    $("like").disabled = false;
    $("dislike").disabled = false;
    $("film-card").setAttribute("data-film-id", String(film.id));
  }

  function isFilm(data) {
    return data !== null && typeof data === "object" && typeof data.id === "number" &&
      typeof data.name === "string" && typeof data.studio === "string";
  }

  function showProblem(problem) {
    var box = $("problem");
    var list = $("problem-errors");
    while (list.firstChild) list.removeChild(list.firstChild);
    if (!problem) {
      box.hidden = true;
      $("problem-title").textContent = "";
      $("problem-detail").textContent = "";
      $("problem-type").textContent = "";
      $("problem-status").textContent = "";
      return;
    }
    $("problem-title").textContent = problem.title || "Problem";
    $("problem-detail").textContent = problem.detail || "";
    $("problem-type").textContent = problem.type || "about:blank";
    $("problem-status").textContent = problem.status === undefined ? "" : String(problem.status);
    if (Array.isArray(problem.errors)) {
      problem.errors.forEach(function (err) {
        var li = document.createElement("li");
        var field = err && err.field !== undefined ? String(err.field) : "?";
        var reason = err && err.reason !== undefined ? String(err.reason) : "";
        li.textContent = field + ": " + reason;
        li.setAttribute("data-field", field);
        list.appendChild(li);
      });
    }
    box.hidden = false;
  }

  function addHistory(method, path, status, requestId) {
    var li = document.createElement("li");
    li.className = "s" + String(status).charAt(0);
    li.textContent = method + " " + path + " → " + (status === 0 ? "network error" : status) +
      (requestId ? "  [" + requestId + "]" : "");
    var list = $("history");
    list.insertBefore(li, list.firstChild);
    while (list.children.length > HISTORY_MAX) list.removeChild(list.lastChild);
  }

  function showCall(method, path, response, text, data) {
    var status = response ? response.status : 0;
    var headers = response ? response.headers : null;
    function header(name) { return headers ? headers.get(name) : null; }
    setText("request-line", method + " " + path);
    var statusEl = setText("status", response ? (status + " " + (response.statusText || "")).trim() : "network error");
    statusEl.setAttribute("data-status", String(status));
    statusEl.className = statusClass(status);
    setText("request-id", header("X-Request-ID"));
    setText("ratelimit", header("RateLimit"));
    setText("ratelimit-policy", header("RateLimit-Policy"));
    setText("retry-after", header("Retry-After"));
    setText("location", header("Location"));
    var ctype = (header("Content-Type") || "").toLowerCase();
    showProblem(ctype.indexOf("application/problem+json") === 0 && data && typeof data === "object" ? data : null);
    $("response-body").textContent = data !== null && data !== undefined ? JSON.stringify(data, null, 2) : (text || "");
    addHistory(method, path, status, header("X-Request-ID"));
  }

  // --- HTTP -------------------------------------------------------------------------------
  function call(method, path, body) {
    var headers = { "Accept": "application/json, application/problem+json" };
    var key = apiKey();
    if (key) headers["X-API-Key"] = key;
    var init = {
      method: method, headers: headers, cache: "no-store", credentials: "same-origin",
      redirect: "manual", referrerPolicy: "no-referrer"
    };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    document.body.setAttribute("data-busy", "true");
    var response = null;
    return fetch(path, init)
      .then(function (resp) { response = resp; return resp.text(); })
      .then(function (text) {
        var data = null;
        var ctype = (response.headers.get("Content-Type") || "").toLowerCase();
        if (text && ctype.indexOf("json") !== -1) {
          try { data = JSON.parse(text); } catch (e) { data = null; }
        }
        showCall(method, path, response, text, data);
        return { status: response.status, data: data };
      })
      .catch(function (err) {
        showCall(method, path, null, String(err && err.message ? err.message : err), null);
        showProblem({ title: "Network error", detail: String(err && err.message ? err.message : err) });
        return { status: 0, data: null };
      })
      .then(function (result) {
        calls += 1;
        document.body.setAttribute("data-calls", String(calls));
        document.body.setAttribute("data-busy", "false");
        return result;
      });
  }

  // --- actions ----------------------------------------------------------------------------
  function nextFilm() {
    return call("GET", "/films/random").then(function (r) {
      if (r.status === 200 && isFilm(r.data)) showFilm(r.data);
      else if (r.status === 404) showFilm(null);
    });
  }

  function vote(kind) {
    if (!current) return Promise.resolve();
    return call("POST", "/films/" + encodeURIComponent(String(current.id)) + "/" + kind).then(function (r) {
      if (r.status === 200 && isFilm(r.data)) showFilm(r.data);
    });
  }

  function readForm() {
    var film = { name: $("add-name").value, studio: $("add-studio").value };
    var year = $("add-year").value.trim();
    if (year !== "") {
      // Digits become a number; anything else is sent as typed so that the server explains the problem.
      film.year = /^[0-9]{1,9}$/.test(year) ? Number(year) : year;
    }
    return film;
  }

  function addFilm(event) {
    event.preventDefault();
    return call("POST", "/films", readForm()).then(function (r) {
      if (r.status === 201 && isFilm(r.data)) {
        showFilm(r.data);
        $("add-name").value = "";
        $("add-studio").value = "";
        $("add-year").value = "";
      }
    });
  }

  // --- wiring -----------------------------------------------------------------------------
  function noteViolation(event) {
    var el = $("csp-violations");
    var count = Number(el.getAttribute("data-count") || "0") + 1;
    el.setAttribute("data-count", String(count));
    el.textContent = count + " CSP violation" + (count === 1 ? "" : "s") + " (last: " +
      (event.violatedDirective || event.effectiveDirective || "?") + ")";
  }

  document.addEventListener("securitypolicyviolation", noteViolation);

  document.addEventListener("DOMContentLoaded", function () {
    $("like").addEventListener("click", function () { vote("like"); });
    $("dislike").addEventListener("click", function () { vote("dislike"); });
    $("next").addEventListener("click", function () { nextFilm(); });
    $("add-form").addEventListener("submit", addFilm);
    document.body.setAttribute("data-ready", "true");
    nextFilm();
  });
})();
