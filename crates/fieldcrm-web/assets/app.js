// fieldcrm app: progressive enhancement only. Every form works without this file.
(function () {
  'use strict';
  var dirty = false, pending = false;

  // Live customer search: fetch the results fragment as the user types.
  var search = document.getElementById('search');
  var results = document.getElementById('results');
  if (search && results && search.form) {
    var timer = 0, seq = 0;
    var refresh = function () {
      var params = new URLSearchParams(new FormData(search.form)).toString();
      var mine = ++seq;
      fetch('/customers/results?' + params, { credentials: 'same-origin' })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          if (mine !== seq) return;
          results.innerHTML = html;
          history.replaceState(null, '', '/customers?' + params);
        })
        .catch(function () {});
    };
    search.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 120);
    });
    search.form.addEventListener('change', function (e) {
      if (e.target !== search) refresh();
    });
  }

  // Quote form: live discount and whether a manager must approve it.
  var quote = document.getElementById('quote-form');
  if (quote) {
    var product = quote.querySelector('[name=product]');
    var price = quote.querySelector('[name=price]');
    var out = document.getElementById('quote-discount');
    var needs = document.getElementById('quote-needs-approval');
    var allowance = parseInt(quote.getAttribute('data-allowance-bp') || '0', 10);
    var toFen = function (text) {
      var t = String(text || '').replace(/[\uFF10-\uFF19]/g, function (c) {
        return String.fromCharCode(c.charCodeAt(0) - 0xFEE0);
      }).replace(/[\s,，¥￥元]/g, '').replace('．', '.');
      if (!/^\d+(\.\d{1,2})?$/.test(t)) return NaN;
      return Math.round(parseFloat(t) * 100);
    };
    var update = function () {
      var opt = product && product.options[product.selectedIndex];
      var list = opt ? parseInt(opt.getAttribute('data-list-price') || '0', 10) : 0;
      var fen = toFen(price && price.value);
      if (!list || isNaN(fen)) { out.textContent = '—'; needs.hidden = true; return; }
      var bp = fen >= list ? 0 : Math.floor((list - fen) * 10000 / list);
      out.textContent = (bp / 100).toFixed(1) + '%';
      needs.hidden = !(bp > allowance);
    };
    quote.addEventListener('input', update);
    quote.addEventListener('change', update);
    update();
  }

  // Remember when the user has typed into a form: never reload under them.
  document.addEventListener('input', function (e) {
    if (e.target && e.target.form && e.target.id !== 'search') dirty = true;
  });
  var typing = function () {
    var a = document.activeElement;
    return dirty || (a && /^(INPUT|TEXTAREA|SELECT)$/.test(a.tagName));
  };
  document.addEventListener('focusout', function () {
    setTimeout(function () { if (pending && !typing()) location.reload(); }, 300);
  });

  // Reload when another program (the CLI, a sync) changed the workspace.
  if (window.EventSource && document.body && document.body.getAttribute('data-live')) {
    var es = new EventSource('/events');
    es.addEventListener('change', function () {
      if (typing()) { pending = true; } else { location.reload(); }
    });
    window.addEventListener('pagehide', function () { es.close(); });
  }
})();
