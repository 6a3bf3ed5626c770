/*
 * Activity tracking for the module viewer: how long a learner actively spends on a lens.
 *
 * Reads its configuration from the element marked `data-activity` (module.html#viewer):
 *   data-content-id           the lens (or test) UUID the time is credited to
 *   data-heartbeat-url        POST endpoint (/api/progress/time)
 *   data-heartbeat-seconds    PROGRESS_HEARTBEAT_SECONDS
 *   data-inactivity-seconds   PROGRESS_INACTIVITY_SECONDS, or PROGRESS_CHAT_INACTIVITY_SECONDS on a lens with a chat
 *
 * Time counts only while the tab is visible and the learner was active within the inactivity timeout.
 * Activity: scroll, mouse move, pointer, touch, key press, a playing <video>, focus inside a YouTube
 * iframe (for at most the clip's length plus the timeout, since the iframe itself can't be observed),
 * and the `courseplatform:activity` DOM event, which other scripts (the tutor chat) dispatch while the
 * learner types or a reply streams:
 *   element.dispatchEvent(new CustomEvent("courseplatform:activity", { bubbles: true }))
 *
 * Every heartbeat interval the whole active seconds since the previous send are POSTed as JSON
 * {content_id, time_delta_s}. On tab hide, pagehide, lens change (an htmx swap of the viewer) and
 * before "Mark complete", the pending seconds are flushed with navigator.sendBeacon as a form
 * (csrfmiddlewaretoken, content_id, time_delta_s); the learner's cookies identify them. Nothing is sent
 * while hidden or idle.
 */
(function () {
  "use strict";

  var TICK_MS = 1000;
  var MAX_TICK_MS = 5000; // a late tick (sleeping laptop, busy thread) never credits more than this
  var MAX_PENDING_MS = 3600 * 1000;
  var ACTIVITY_EVENTS = ["scroll", "wheel", "mousemove", "pointerdown", "pointermove", "touchstart", "keydown", "input"];

  var config = null; // {contentId, url, heartbeatMs, timeoutMs}
  var pendingMs = 0;
  var lastTick = Date.now();
  var lastSend = Date.now();
  var lastActivity = Date.now();
  var videoFocus = null; // {since, limitMs} while focus is inside a video iframe

  function readConfig() {
    var el = document.querySelector("[data-activity]");
    if (!el || !el.dataset.contentId) {
      return null;
    }
    return {
      contentId: el.dataset.contentId,
      url: el.dataset.heartbeatUrl || "/api/progress/time",
      heartbeatMs: Math.max(1, parseInt(el.dataset.heartbeatSeconds, 10) || 60) * 1000,
      timeoutMs: Math.max(1, parseInt(el.dataset.inactivitySeconds, 10) || 180) * 1000,
    };
  }

  function markActive() {
    lastActivity = Date.now();
  }

  function videoIsFocused() {
    var el = document.activeElement;
    return !!(el && el.tagName === "IFRAME" && el.hasAttribute("data-video-frame"));
  }

  // Add the active time since the previous tick: only while visible, and only up to the moment the
  // inactivity timeout ran out (so an idle learner stops counting exactly when the timeout passes).
  function accumulate(now) {
    if (!config) {
      lastTick = now;
      return;
    }
    var until = now;
    if (document.visibilityState !== "visible") {
      until = lastTick;
    } else if (videoFocus && videoIsFocused()) {
      until = Math.min(now, Math.max(lastActivity + config.timeoutMs, videoFocus.since + videoFocus.limitMs));
    } else {
      until = Math.min(now, lastActivity + config.timeoutMs);
    }
    var elapsed = until - lastTick;
    if (elapsed > 0) {
      pendingMs = Math.min(MAX_PENDING_MS, pendingMs + Math.min(elapsed, MAX_TICK_MS));
    }
    lastTick = now;
  }

  function takeWholeSeconds() {
    var seconds = Math.floor(pendingMs / 1000);
    if (seconds < 1) {
      return 0;
    }
    seconds = Math.min(seconds, 3600);
    pendingMs -= seconds * 1000;
    return seconds;
  }

  function sendHeartbeat() {
    var seconds = takeWholeSeconds();
    lastSend = Date.now();
    if (!seconds || !config) {
      return;
    }
    var sent = config;
    fetch(sent.url, {
      method: "POST",
      credentials: "same-origin",
      keepalive: true,
      headers: { "Content-Type": "application/json", "X-CSRFToken": window.courseplatform.csrfToken() },
      body: JSON.stringify({ content_id: sent.contentId, time_delta_s: seconds }),
    }).then(
      function (response) {
        if (response.status >= 500 && config === sent) {
          pendingMs = Math.min(MAX_PENDING_MS, pendingMs + seconds * 1000); // try again with the next one
        }
      },
      function () {
        if (config === sent) {
          pendingMs = Math.min(MAX_PENDING_MS, pendingMs + seconds * 1000); // offline: keep the seconds
        }
      }
    );
  }

  function flush() {
    accumulate(Date.now());
    var seconds = takeWholeSeconds();
    lastSend = Date.now();
    if (!seconds || !config) {
      return;
    }
    var body = new URLSearchParams();
    body.append("csrfmiddlewaretoken", window.courseplatform.csrfToken());
    body.append("content_id", config.contentId);
    body.append("time_delta_s", String(seconds));
    var queued = navigator.sendBeacon && navigator.sendBeacon(config.url, body);
    if (!queued) {
      pendingMs += seconds * 1000;
    }
  }

  function tick() {
    var now = Date.now();
    accumulate(now);
    if (config && now - lastSend >= config.heartbeatMs) {
      sendHeartbeat();
    }
  }

  // A different lens is now on the page (htmx swap or history restore): settle the old one first.
  function syncContent() {
    var next = readConfig();
    if (config && next && next.contentId === config.contentId) {
      config = next;
      return;
    }
    if (config) {
      flush();
    }
    config = next;
    pendingMs = 0;
    lastTick = lastSend = Date.now();
    markActive(); // opening a lens is an activity
  }

  function onVisibilityChange() {
    if (document.visibilityState === "visible") {
      lastTick = lastSend = Date.now();
      markActive();
    } else {
      flush();
    }
  }

  function onWindowBlur() {
    // Focus moving into an iframe blurs the window; the element is the iframe a moment later.
    setTimeout(function () {
      if (videoIsFocused()) {
        var figure = document.activeElement.closest("[data-video]");
        var clipSeconds = figure ? Number(figure.dataset.duration) - Number(figure.dataset.start) : 0;
        videoFocus = { since: Date.now(), limitMs: Math.max(0, clipSeconds || 0) * 1000 };
        markActive();
      }
    }, 0);
  }

  // The old client kept progress in localStorage; those keys are meaningless now.
  function removeLegacyKeys() {
    try {
      if (localStorage.getItem("progress_migration_v2")) {
        return;
      }
      var doomed = [];
      for (var i = 0; i < localStorage.length; i++) {
        var key = localStorage.key(i);
        if (key && (key.indexOf("module-completed-") === 0 || key.indexOf("module_session_") === 0)) {
          doomed.push(key);
        }
      }
      doomed.forEach(function (key) {
        localStorage.removeItem(key);
      });
      localStorage.setItem("progress_migration_v2", "done");
    } catch (error) {
      // Storage disabled: nothing to clean.
    }
  }

  function start() {
    removeLegacyKeys();
    ACTIVITY_EVENTS.forEach(function (name) {
      window.addEventListener(name, markActive, { passive: true, capture: true });
    });
    document.addEventListener("courseplatform:activity", markActive);
    document.addEventListener("play", markActive, true);
    document.addEventListener("timeupdate", markActive, true); // a playing <video> or <audio>
    window.addEventListener("focus", function () {
      videoFocus = null;
      markActive();
    });
    window.addEventListener("blur", onWindowBlur);
    document.addEventListener("visibilitychange", onVisibilityChange);
    window.addEventListener("pagehide", flush);
    document.addEventListener("submit", function (event) {
      if (event.target.matches && event.target.matches("[data-complete-form]")) {
        flush(); // credit the time before the completion is recorded
      }
    }, true);
    document.body.addEventListener("htmx:afterSettle", syncContent);
    document.body.addEventListener("htmx:historyRestore", syncContent);
    window.addEventListener("pageshow", syncContent);
    syncContent();
    setInterval(tick, TICK_MS);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
