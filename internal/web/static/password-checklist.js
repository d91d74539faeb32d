// Live password checklist: progressive enhancement only. The server checks
// every rule again; this just shows, while typing, which rules are met.
(function () {
  "use strict";
  var list = document.querySelector(".checklist");
  var input = document.getElementById("new_password") || document.getElementById("password");
  if (!list || !input) { return; }
  var status = document.querySelector(".checklist-status");
  var min = parseInt(list.getAttribute("data-min"), 10) || 8;
  var need = parseInt(list.getAttribute("data-classes"), 10) || 0;
  var specials = list.getAttribute("data-specials") || "";
  var userIdInput = document.getElementById("user_id");
  function classes(pw) {
    var n = 0;
    if (/[A-Z]/.test(pw)) { n++; }
    if (/[a-z]/.test(pw)) { n++; }
    if (/[0-9]/.test(pw)) { n++; }
    for (var i = 0; i < pw.length; i++) {
      if (specials.indexOf(pw.charAt(i)) >= 0) { n++; break; }
    }
    return n;
  }
  function mark(rule, ok) {
    var li = list.querySelector('[data-rule="' + rule + '"]');
    if (!li) { return; }
    li.classList.toggle("met", ok);
    li.classList.toggle("unmet", !ok);
  }
  function update() {
    var pw = input.value;
    var length = Array.from(pw).length;
    var okLen = length >= min;
    var okClasses = need === 0 || classes(pw) >= need;
    mark("length", okLen);
    mark("classes", okClasses);
    if (userIdInput) {
      var uid = userIdInput.value.toLowerCase();
      mark("user-id", uid === "" || pw.toLowerCase().indexOf(uid) < 0);
    }
    if (status) {
      status.textContent = (okLen && okClasses) ? "Length and character rules are met." : "";
    }
  }
  input.addEventListener("input", update);
  if (userIdInput) { userIdInput.addEventListener("input", update); }

  // Sign-up: the User ID Guidelines, when the page has them. data-stem is
  // the last name and first initial the portal's format asks for ("" when
  // user IDs are free-form).
  var uidList = document.querySelector(".uid-checklist");
  if (!uidList || !userIdInput) { return; }
  var uidStatus = document.querySelector(".uid-checklist-status");
  var stem = uidList.getAttribute("data-stem") || "";
  function markUID(rule, ok) {
    var li = uidList.querySelector('[data-rule="' + rule + '"]');
    if (!li) { return; }
    li.classList.toggle("met", ok);
    li.classList.toggle("unmet", !ok);
  }
  function updateUID() {
    var id = userIdInput.value;
    var lower = id.toLowerCase();
    var okSpace = id !== "" && !/\s/.test(id);
    var okFormat = stem === "" ? id.length >= 3 :
      (lower.length === stem.length + 4 && lower.indexOf(stem) === 0 && /^[0-9]{4}$/.test(lower.slice(stem.length)));
    markUID("uid-space", okSpace);
    markUID("uid-format", okFormat);
    if (uidStatus) {
      uidStatus.textContent = (okSpace && okFormat) ? "The User ID follows the guidelines." : "";
    }
  }
  userIdInput.addEventListener("input", updateUID);
  updateUID();
})();
