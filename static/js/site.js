/*
 * Site-wide behaviour on top of htmx (loaded before this file, both deferred).
 * - A link or form enhanced with hx-get that fails (an error page, or no connection) falls back to
 *   plain navigation, so the learner sees the server's error page or the browser's offline page
 *   instead of nothing happening.
 * - After htmx swaps in a new lens, focus moves to its title so keyboard and screen-reader users
 *   start reading there.
 * - A page the browser restores from its back-forward cache (`pageshow` with `event.persisted`) shows
 *   the learner's state of when they left it: it is reloaded, so completion marks, answers and chats are
 *   the server's current ones (the server sends every learner page `no-store`, so the reload asks it).
 */
(function () {
  "use strict";

  function fallBackToNavigation(event) {
    var config = event.detail.requestConfig || {};
    if ((config.verb || "").toLowerCase() === "get" && config.path) {
      window.location.assign(config.path);
    }
  }

  document.addEventListener("htmx:responseError", fallBackToNavigation);
  document.addEventListener("htmx:sendError", fallBackToNavigation);

  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      window.location.reload();
    }
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.target.id === "viewer") {
      var title = document.getElementById("lens-title");
      if (title) {
        title.focus({ preventScroll: true });
      }
    }
  });
})();
