// After LOGOUT the browser's Back button must not show a signed-in page from
// its back/forward cache: Cache-Control: no-store does not stop Chromium's
// cache from restoring it. Reloading asks the server, which answers with the
// sign-in page once the session has ended.
addEventListener("pageshow", function (e) {
  if (e.persisted) { location.reload(); }
});
