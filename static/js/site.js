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
 * - An article's inline `:collapse[...]` (a `span.collapse`, readable as it is without JavaScript) is
 *   folded behind a "…" button that opens it.
 * - An image of an article that cannot be loaded (offline, moved, refused) is replaced by its
 *   description and a link to it, so the learner never sees a broken-image icon.
 * - `courseplatform.csrfToken()`: the page's CSRF token, for the other scripts' own requests. It is read
 *   where htmx reads it, the `X-CSRFToken` of `<body hx-headers>` (set once, by the page layout).
 */
window.courseplatform = window.courseplatform || {};
window.courseplatform.csrfToken = function () {
  try {
    return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
  } catch (error) {
    return "";
  }
};

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
  function foldInlineCollapses(root) {
    var spans = root.querySelectorAll ? root.querySelectorAll(".prose span.collapse:not([data-folded])") : [];
    spans.forEach(function (span) {
      span.setAttribute("data-folded", "");
      var text = document.createElement("span");
      text.className = "collapse__text";
      while (span.firstChild) {
        text.appendChild(span.firstChild);
      }
      text.hidden = true;
      var toggle = document.createElement("button");
      toggle.type = "button";
      toggle.className = "collapse__toggle";
      toggle.setAttribute("aria-expanded", "false");
      toggle.setAttribute("aria-label", "Show the collapsed text");
      toggle.textContent = "…";
      toggle.addEventListener("click", function () {
        var open = text.hidden;
        text.hidden = !open;
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
        toggle.textContent = open ? "×" : "…";
        toggle.setAttribute("aria-label", open ? "Hide the collapsed text" : "Show the collapsed text");
      });
      span.appendChild(toggle);
      span.appendChild(text);
    });
  }

  function replaceBrokenImage(event) {
    var img = event.target;
    if (!img || img.tagName !== "IMG" || !img.closest(".prose")) {
      return;
    }
    var fallback = document.createElement("a");
    fallback.className = "image-fallback";
    fallback.href = img.currentSrc || img.src;
    fallback.rel = "noopener noreferrer";
    fallback.referrerPolicy = "no-referrer";
    fallback.textContent = "Image: " + (img.alt || "not available") + " (open it)";
    img.replaceWith(fallback);
  }

  document.addEventListener("error", replaceBrokenImage, true);
  // Images that failed before this deferred script ran.
  document.querySelectorAll(".prose img").forEach(function (img) {
    if (img.complete && img.naturalWidth === 0 && img.getAttribute("src")) {
      replaceBrokenImage({ target: img });
    }
  });
  htmx.onLoad(foldInlineCollapses);

  // The completion page's "Print this page" button (no inline handlers: the CSP forbids them).
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) {
      window.print();
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
