/*
 * Site-wide behaviour on top of htmx (loaded before this file, both deferred).
 * - A link or form enhanced with hx-get that fails (an error page, or no connection) falls back to
 *   plain navigation, so the learner sees the server's error page or the browser's offline page
 *   instead of nothing happening.
 * - After htmx swaps in a new lens, focus moves to its title so keyboard and screen-reader users
 *   start reading there.
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

  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.target.id === "viewer") {
      var title = document.getElementById("lens-title");
      if (title) {
        title.focus({ preventScroll: true });
      }
    }
  });
})();
