// eventlake console: the little JavaScript every page shares. No inline scripts anywhere
// (the Content-Security-Policy forbids them): pages pass data in
// <script type="application/json"> blocks and behaviour through data- attributes.
(function () {
  "use strict";
  // <form data-autosubmit>: a changed control submits the form (GET forms keep the URL shareable)
  document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
    form.addEventListener("change", function (ev) {
      if (ev.target && ev.target.matches("select, input[type=checkbox], input[type=radio], input[type=date], input[type=datetime-local]")) {
        form.requestSubmit ? form.requestSubmit() : form.submit();
      }
    });
  });
  // <button data-confirm="text">: ask before doing it
  document.querySelectorAll("[data-confirm]").forEach(function (el) {
    el.addEventListener("click", function (ev) {
      if (!window.confirm(el.getAttribute("data-confirm"))) ev.preventDefault();
    });
  });
  // read a JSON data block: eventlake.data("id")
  window.eventlake = window.eventlake || {};
  window.eventlake.data = function (id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  };
})();
