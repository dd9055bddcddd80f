// A column of scores (/classes/<id>/assignments/<aid>): Enter in a points field goes to the next
// student's points (Shift+Enter: the one before), as in a spreadsheet; after the last, to Save.
// The page is complete without this script: there, Enter submits the form.
(function () {
  "use strict";
  var form = document.getElementById("column-form");
  if (!form) { return; }
  var fields = Array.prototype.slice.call(form.querySelectorAll("input.points"));
  var hint = document.getElementById("enter-hint");
  if (hint) { hint.hidden = false; }
  form.addEventListener("keydown", function (event) {
    var at = fields.indexOf(event.target);
    if (event.key !== "Enter" || at < 0 || event.isComposing || event.altKey || event.ctrlKey || event.metaKey) {
      return;
    }
    event.preventDefault();
    var next = event.shiftKey ? fields[at - 1] : fields[at + 1];
    if (next) {
      next.focus();
      next.select();
    } else if (!event.shiftKey) {
      document.getElementById("save").focus();
    }
  });
}());
