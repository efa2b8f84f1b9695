// Atrium's browser enhancements. Every page works without this file; it adds the theme
// toggle, the phone navigation drawer, copy buttons, confirmation of destructive forms and a
// preview of a new profile picture. The CSP allows no inline code, so all behaviour is bound
// here to data-* attributes.
(function () {
  'use strict';

  var root = document.documentElement;
  var THEME_KEY = 'atrium-theme';

  // Runs before the first paint (this file is loaded in <head>), so a saved theme never
  // flashes the other one first.
  root.classList.add('js');
  try {
    var saved = localStorage.getItem(THEME_KEY);
    if (saved === 'light' || saved === 'dark') root.setAttribute('data-theme', saved);
  } catch (e) { /* storage can be disabled; the system theme applies */ }

  function currentTheme() {
    var t = root.getAttribute('data-theme');
    if (t) return t;
    return window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
  }

  function labelThemeButtons() {
    var next = currentTheme() === 'dark' ? 'light' : 'dark';
    document.querySelectorAll('[data-theme-toggle]').forEach(function (b) {
      var label = b.querySelector('.sr-only');
      if (label) label.textContent = 'Switch to ' + next + ' theme';
      b.setAttribute('aria-pressed', currentTheme() === 'dark' ? 'true' : 'false');
    });
  }

  function toggleTheme() {
    var next = currentTheme() === 'dark' ? 'light' : 'dark';
    root.setAttribute('data-theme', next);
    try { localStorage.setItem(THEME_KEY, next); } catch (e) { /* not persisted */ }
    labelThemeButtons();
  }

  function setupNav() {
    var btn = document.querySelector('[data-nav-toggle]');
    var nav = document.getElementById('sidenav');
    if (!btn || !nav) return;
    function set(open) {
      nav.classList.toggle('open', open);
      btn.setAttribute('aria-expanded', open ? 'true' : 'false');
    }
    btn.addEventListener('click', function () {
      var open = !nav.classList.contains('open');
      set(open);
      if (open) {
        var first = nav.querySelector('a');
        if (first) first.focus();
      }
    });
    document.addEventListener('keydown', function (e) {
      if (e.key === 'Escape' && nav.classList.contains('open')) { set(false); btn.focus(); }
    });
    document.addEventListener('click', function (e) {
      if (nav.classList.contains('open') && !nav.contains(e.target) && !btn.contains(e.target)) set(false);
    });
  }

  // The account menu is a <details>; close it on Escape or a click elsewhere, as menus do.
  function setupMenus() {
    var menus = document.querySelectorAll('[data-menu]');
    document.addEventListener('click', function (e) {
      menus.forEach(function (m) { if (m.open && !m.contains(e.target)) m.open = false; });
    });
    document.addEventListener('keydown', function (e) {
      if (e.key !== 'Escape') return;
      menus.forEach(function (m) {
        if (m.open) { m.open = false; m.querySelector('summary').focus(); }
      });
    });
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    return new Promise(function (resolve, reject) {
      var ta = document.createElement('textarea');
      ta.value = text;
      ta.setAttribute('readonly', '');
      ta.className = 'sr-only';
      document.body.appendChild(ta);
      ta.select();
      var ok = false;
      try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
      document.body.removeChild(ta);
      if (ok) resolve(); else reject(new Error('copy failed'));
    });
  }

  function setupCopy() {
    document.querySelectorAll('[data-copy]').forEach(function (btn) {
      btn.addEventListener('click', function () {
        var field = document.getElementById(btn.getAttribute('data-copy'));
        if (!field) return;
        var original = btn.textContent;
        copyText(field.value).then(function () {
          btn.textContent = 'Copied';
        }, function () {
          field.select();
          btn.textContent = 'Press Ctrl+C';
        });
        setTimeout(function () { btn.textContent = original; }, 2000);
      });
    });
  }

  function setupConfirm() {
    document.addEventListener('submit', function (e) {
      var form = e.target;
      var msg = form.getAttribute && form.getAttribute('data-confirm');
      if (msg && !window.confirm(msg)) e.preventDefault();
    }, true);
  }

  function setupAvatarPreview() {
    var input = document.querySelector('[data-preview-input]');
    var preview = document.querySelector('[data-avatar-preview]');
    if (!input || !preview || !window.URL) return;
    var current = null;
    input.addEventListener('change', function () {
      if (current) URL.revokeObjectURL(current);
      current = null;
      var file = input.files && input.files[0];
      var existing = preview.parentNode.querySelector('.avatar:not([data-avatar-preview])');
      if (!file || file.type.indexOf('image/') !== 0) {
        preview.hidden = true;
        if (existing) existing.hidden = false;
        return;
      }
      current = URL.createObjectURL(file);
      preview.src = current;
      preview.hidden = false;
      if (existing) existing.hidden = true;
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    document.querySelectorAll('[data-theme-toggle]').forEach(function (b) {
      b.addEventListener('click', toggleTheme);
    });
    labelThemeButtons();
    setupNav();
    setupMenus();
    setupCopy();
    setupConfirm();
    setupAvatarPreview();
  });
})();
