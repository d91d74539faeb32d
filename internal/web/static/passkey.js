// Passkeys (WebAuthn) for MILogin: the Passkey option of the MILogin
// Multifactor Authentication (MFA) page, and "Add a passkey" in Security
// Options. Without JavaScript these controls stay hidden and every other
// option works as plain forms.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }

  function fromB64u(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) {
      s += "=";
    }
    var bin = atob(s);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      out[i] = bin.charCodeAt(i);
    }
    return out.buffer;
  }

  function toB64u(buf) {
    var bytes = new Uint8Array(buf);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) {
      bin += String.fromCharCode(bytes[i]);
    }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // decodeOptions turns the server's JSON (base64url strings) into what
  // navigator.credentials expects (ArrayBuffers).
  function decodeOptions(o) {
    var pk = o.publicKey;
    pk.challenge = fromB64u(pk.challenge);
    if (pk.user && pk.user.id) {
      pk.user.id = fromB64u(pk.user.id);
    }
    ["excludeCredentials", "allowCredentials"].forEach(function (k) {
      (pk[k] || []).forEach(function (c) {
        c.id = fromB64u(c.id);
      });
    });
    return o;
  }

  function encodeCredential(c) {
    var r = c.response;
    var out = {id: c.id, rawId: toB64u(c.rawId), type: c.type, response: {clientDataJSON: toB64u(r.clientDataJSON)}};
    if (r.attestationObject) {
      out.response.attestationObject = toB64u(r.attestationObject);
      if (r.getTransports) {
        out.response.transports = r.getTransports();
      }
    }
    if (r.authenticatorData) {
      out.response.authenticatorData = toB64u(r.authenticatorData);
      out.response.signature = toB64u(r.signature);
      if (r.userHandle) {
        out.response.userHandle = toB64u(r.userHandle);
      }
    }
    if (c.authenticatorAttachment) {
      out.authenticatorAttachment = c.authenticatorAttachment;
    }
    out.clientExtensionResults = c.getClientExtensionResults ? c.getClientExtensionResults() : {};
    return out;
  }

  function post(url, body, type) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": type, "Accept": "application/json"},
      body: body
    }).then(function (res) {
      return res.json().then(function (data) {
        if (!res.ok) {
          throw new Error(data.message || "Something went wrong. Please try again.");
        }
        return data;
      });
    });
  }

  function fail(status, err) {
    var msg = err && err.message ? err.message : String(err);
    if (err && err.name === "NotAllowedError") {
      msg = "The passkey request was cancelled or timed out. Please try again or choose another option.";
    }
    status.textContent = msg;
  }

  // The MFA page's Passkey option.
  var option = document.getElementById("passkey-option");
  if (option) {
    var button = document.getElementById("passkey-button");
    var status = document.getElementById("passkey-status");
    option.hidden = false;
    button.addEventListener("click", function () {
      button.disabled = true;
      status.textContent = "";
      post(option.dataset.begin, "", "application/x-www-form-urlencoded")
        .then(function (begin) {
          return navigator.credentials.get(decodeOptions(begin.options)).then(function (cred) {
            return post(option.dataset.finish + "&challenge=" + encodeURIComponent(begin.challenge),
              JSON.stringify(encodeCredential(cred)), "application/json");
          });
        })
        .then(function (done) {
          window.location.assign(done.redirect);
        })
        .catch(function (err) {
          fail(status, err);
          button.disabled = false;
        });
    });
  }

  // Security Options: Add a passkey.
  var form = document.getElementById("passkey-add");
  if (form) {
    var addStatus = document.getElementById("passkey-status");
    form.hidden = false;
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      addStatus.textContent = "";
      var name = form.elements.namedItem("name").value;
      var body = new URLSearchParams(new FormData(form)).toString();
      post(form.action, body, "application/x-www-form-urlencoded")
        .then(function (begin) {
          return navigator.credentials.create(decodeOptions(begin.options)).then(function (cred) {
            return post(form.dataset.finish + "?challenge=" + encodeURIComponent(begin.challenge) +
              "&name=" + encodeURIComponent(name), JSON.stringify(encodeCredential(cred)), "application/json");
          });
        })
        .then(function (done) {
          window.location.assign(done.redirect);
        })
        .catch(function (err) {
          fail(addStatus, err);
        });
    });
  }
})();
