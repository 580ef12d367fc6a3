// Small page behaviours without inline script (the CSP allows only 'self'): select-all boxes,
// the edit dialogs of 整理, and dialogs that htmx swaps in (opened modal, closed by [data-close]).
(function () {
  document.addEventListener("change", function (event) {
    var name = event.target.getAttribute && event.target.getAttribute("data-check-all");
    if (!name) return;
    var form = event.target.form || document;
    form.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (box) {
      box.checked = event.target.checked;
    });
  });
  document.addEventListener("click", function (event) {
    var target = event.target;
    var edit = target.closest && target.closest("[data-edit]");
    if (edit) {
      var dialog = document.getElementById("edit-" + edit.getAttribute("data-edit"));
      if (dialog) dialog.showModal();
      return;
    }
    if (target.closest && target.closest("[data-close]")) {
      var open = target.closest("dialog");
      if (open) { open.close(); if (open.parentElement && open.parentElement.id === "dialog") open.remove(); }
    }
  });
  function openDialogs(root) {
    (root || document).querySelectorAll("dialog[data-open]").forEach(function (d) {
      if (!d.open) d.showModal();
    });
  }
  document.addEventListener("htmx:afterSwap", function (event) { openDialogs(event.target); });
  document.addEventListener("DOMContentLoaded", function () { openDialogs(document); });
})();
