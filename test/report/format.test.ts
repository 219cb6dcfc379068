// Escaping and number formatting of report text, on hand-written inputs.
import t from 'tap';
import { escapeHtml, formatNumber, formatTick } from '../../lib/report/format.js';

t.test('escapeHtml escapes the five HTML-special characters, nothing else', async (t) => {
  t.equal(escapeHtml('<script>alert("x")</script>'), '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
  t.equal(escapeHtml(`a & b's "c"`), 'a &amp; b&#39;s &quot;c&quot;');
  t.equal(escapeHtml('&lt;'), '&amp;lt;', 'already-escaped text is shown as written, not decoded');
  t.equal(escapeHtml('tikml → ünï 漢字\n\ttab'), 'tikml → ünï 漢字\n\ttab');
  t.equal(escapeHtml(''), '');
});

t.test('formatNumber: integers in full, 4 significant digits, exponents at the extremes', async (t) => {
  t.equal(formatNumber(64), '64');
  t.equal(formatNumber(-3), '-3');
  t.equal(formatNumber(0), '0');
  t.equal(formatNumber(0.640625), '0.6406');
  t.equal(formatNumber(0.5), '0.5', 'no trailing zeros');
  t.equal(formatNumber(12.3456), '12.35');
  t.equal(formatNumber(0.00123456), '0.001235');
  t.equal(formatNumber(0.000015), '1.5e-5');
  t.equal(formatNumber(2500000.5), '2.5e6');
  t.equal(formatNumber(NaN), 'NaN');
  t.equal(formatNumber(Infinity), 'Infinity');
  t.equal(formatNumber(-Infinity), '-Infinity');
});

t.test('formatTick: as many decimals as the step needs', async (t) => {
  t.equal(formatTick(0.4, 0.2), '0.4');
  t.equal(formatTick(1, 0.5), '1.0');
  t.equal(formatTick(0.15, 0.05), '0.15');
  t.equal(formatTick(2000, 500), '2000');
  t.equal(formatTick(0, 0.2), '0.0', 'zero matches its neighbours');
  t.equal(formatTick(0, 500), '0');
  t.equal(formatTick(0), '0');
  t.equal(formatTick(1e-4), '1e-4', 'log-axis ticks have no step');
  t.equal(formatTick(1e6, 2e5), '1e6');
  t.equal(formatTick(20), '20');
});
