// SQL editor: clicking a table or column name inserts it at the cursor; Ctrl+Enter
// (or Cmd+Enter) runs the query.
(function () {
  "use strict";
  var text = document.getElementById("sql-text");
  var form = document.getElementById("sql-form");
  if (!text || !form) return;
  function insert(word) {
    var start = text.selectionStart, end = text.selectionEnd, value = text.value;
    var before = value.slice(0, start), after = value.slice(end);
    var pad = before && !/[\s(,.]$/.test(before) ? " " : "";
    text.value = before + pad + word + after;
    var pos = start + pad.length + word.length;
    text.focus();
    text.setSelectionRange(pos, pos);
  }
  document.querySelectorAll("#tables [data-insert]").forEach(function (el) {
    el.addEventListener("click", function () {
      var name = el.getAttribute("data-insert");
      insert(/^[a-z_][a-z0-9_]*$/.test(name) ? name : '"' + name.replace(/"/g, '""') + '"');
    });
  });
  text.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      var run = document.getElementById("run");
      if (form.requestSubmit) form.requestSubmit(run); else run.click();
    }
  });
})();
