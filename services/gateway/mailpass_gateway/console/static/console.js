/* MailPass console: copy buttons and live regions. Plain JavaScript, loaded from the
   console itself (the Content-Security-Policy allows no inline script); every page
   works without it. */
(function () {
  "use strict";

  // A button with data-copy="ID" copies the value of the field with that id.
  function copy(button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    var status = document.getElementById("copy-status");
    if (!field) return;
    function done(message) {
      if (status) status.textContent = message;
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(
        function () { done("Copied to the clipboard."); },
        function () { field.select(); done("Selected: press Ctrl+C (⌘C) to copy."); }
      );
    } else {
      field.select();
      var copied = false;
      try { copied = document.execCommand("copy"); } catch (e) { copied = false; }
      done(copied ? "Copied to the clipboard." : "Selected: press Ctrl+C (⌘C) to copy.");
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (button) copy(button);
  });

  // An element with an id and data-refresh="SECONDS" is fetched again from the same
  // address that often, and its content replaced when it changed: new messages appear
  // in the list, a message's events on its page. It waits while the page is hidden or
  // while something inside it has the keyboard focus, and stops at a sign-in page.
  function refresh(element, seconds) {
    var stopped = false;
    function tick() {
      if (stopped) return;
      if (document.hidden || element.contains(document.activeElement)) {
        return schedule();
      }
      fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) {
          if (!response.ok || response.redirected) { stopped = true; return null; }
          return response.text();
        })
        .then(function (html) {
          if (!html) return;
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(element.id);
          if (fresh && fresh.innerHTML !== element.innerHTML) {
            element.innerHTML = fresh.innerHTML;
          }
        })
        .catch(function () { /* offline for a moment: try again next time */ })
        .then(schedule);
    }
    function schedule() {
      if (!stopped) window.setTimeout(tick, seconds * 1000);
    }
    schedule();
  }

  document.querySelectorAll("[data-refresh][id]").forEach(function (element) {
    var seconds = parseFloat(element.getAttribute("data-refresh"));
    if (seconds > 0) refresh(element, seconds);
  });
})();

// The template editor's live preview: a form with data-live-preview="BUTTON_ID" is
// submitted through that button (its formaction/formtarget: the sandboxed frame) once
// on load and again after typing stops. A hidden field with data-copy-from="ID" takes
// the value of that field before its own form is sent (the sample variables).
(function () {
  document.querySelectorAll("form[data-live-preview]").forEach(function (form) {
    var button = document.getElementById(form.getAttribute("data-live-preview"));
    if (!button || !form.requestSubmit) return;
    var timer = null;
    function preview() { form.requestSubmit(button); }
    form.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(preview, 400);
    });
    preview();
  });
  document.addEventListener("submit", function (event) {
    event.target.querySelectorAll("[data-copy-from]").forEach(function (field) {
      var source = document.getElementById(field.getAttribute("data-copy-from"));
      if (source) field.value = source.value;
    });
  });
})();
