#!/usr/bin/env node
// gen-vectors.js writes testdata/canonical/vectors.json: canonical-JSON test
// vectors computed by real Node, the way the Sigil app verifies a record:
//
//   JSON.stringify(JSON.parse(stored).data || {})   then sha256 / HMAC over it
//
// Regenerate (from the repository root) with:
//
//   node testdata/node/gen-vectors.js > testdata/canonical/vectors.json
//
// Built-ins only (crypto); no npm dependency. The Go tests in
// collector/canonical read the committed file, and one of them reruns this
// script and fails when the committed file is out of date.
//
// Each vector:
//   name         stable name
//   stored       the stored record document (UTF-8 text)
//   parse_error  true when the document is not a JSON object (JSON.parse
//                throws or the top level is not an object); nothing else then
//   js           JSON.stringify(JSON.parse(stored).data || {})
//   js_sha256    lowercase hex SHA-256 of js (UTF-8)
//   js_hmac_sha256  hex HMAC-SHA256 of js under the key HMAC_KEY below
//   raw          the stored bytes of data ("{}" when data is falsy or absent)
//   jcs          RFC 8785 form of data || {}, absent when RFC 8785 has none
//   jcs_error    why jcs is absent: "duplicate", "surrogate" or "number"
'use strict';

const crypto = require('crypto');

const HMAC_KEY = 'sigil-vector-key';

// rec builds a stored record around a data source text.
const rec = (data) => `{"id":"v","signature":"s","data":${data},"checksum":"c"}`;

// Deterministic pseudo-random numbers (xorshift32) for generated objects.
let seed = 0x9e3779b9;
function rnd() {
  seed ^= seed << 13; seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5; seed >>>= 0;
  return seed;
}

const cases = [];
// add(name, dataSource, opts): a record whose data is dataSource.
// opts.dup marks data with duplicate keys (no JCS form).
function add(name, data, opts = {}) {
  cases.push({ name, stored: rec(data), data, ...opts });
}
// addDoc(name, stored, data, opts): an explicit document; data is the exact
// source text of the member that JSON.parse keeps (null: absent).
function addDoc(name, stored, data, opts = {}) {
  cases.push({ name, stored, data, ...opts });
}

// --- falsy and truthy edge values of data ---
addDoc('falsy-absent', '{"id":"v","signature":"s"}', null);
for (const [n, v] of [['null', 'null'], ['false', 'false'], ['zero', '0'], ['minus-zero', '-0'],
  ['zero-point-zero', '0.0'], ['zero-exp', '0e5'], ['minus-zero-exp', '-0E-5'], ['empty-string', '""'],
  ['underflow', '1e-400'], ['minus-underflow', '-1e-400']]) {
  add('falsy-' + n, v);
}
// A literal without exponent that rounds to zero is falsy too.
add('falsy-tiny-decimal', '0.' + '0'.repeat(323) + '1');
add('falsy-minus-tiny-decimal', '-0.' + '0'.repeat(323) + '1');
add('falsy-tiny-decimal-long', '0.' + '0'.repeat(400) + '999');
add('truthy-denormal-decimal', '0.' + '0'.repeat(322) + '1');
add('truthy-denormal-decimal-3', '-0.' + '0'.repeat(323) + '3');
for (const [n, v] of [['string-zero', '"0"'], ['string-space', '" "'], ['empty-array', '[]'],
  ['empty-object', '{}'], ['true', 'true'], ['one', '1'], ['tiny', '5e-324'], ['string', '"hello"'],
  ['overflow', '1e400'], ['array', '[0,false,null,""]'], ['string-false', '"false"']]) {
  add('truthy-' + n, v);
}

// --- V8 property order: array-index keys first, ascending ---
add('order-plain', '{"b":1,"a":2,"c":3}');
add('order-index-first', '{"b":1,"a":2,"1":3,"0":4}');
add('order-index-edges', String.raw`{"z":0,"4294967295":1,"4294967294":2,"01":3,"-1":4,"1.0":5,"10":6,"9":7," 1":8,"1 ":9,"+1":10,"0":11,"00":12,"1e3":13,"٣":14,"4294967296":15,"99999999999":16,"2":17,"\u0033":18}`);
add('order-index-nested', '{"x":{"b":1,"2":2,"1":3},"1":[{"q":1,"0":2}],"a":{"10":1,"9":2}}');
add('order-proto-key', '{"__proto__":1,"b":2,"1":3,"constructor":4,"toJSON":5}');
add('order-escaped-index-key', String.raw`{"a":1,"\u0031":2,"\u0030":3}`);
{
  // 120 keys: random index keys (some beyond 2^32-2) mixed with names.
  const parts = [];
  const seen = new Set();
  let dup = false;
  for (let i = 0; i < 120; i++) {
    const r = rnd();
    let k;
    switch (r % 4) {
      case 0: k = String(r % 1000); break;
      case 1: k = String(r); break; // up to 4294967295
      case 2: k = 'k' + (r % 500); break;
      default: k = String(4294967290 + (r % 8)); break;
    }
    if (seen.has(k)) dup = true;
    seen.add(k);
    parts.push(JSON.stringify(k) + ':' + i);
  }
  add('order-generated-120', '{' + parts.join(',') + '}', { dup });
}

// --- duplicate keys: last value wins at the first key's position ---
add('dup-simple', '{"a":1,"b":2,"a":3}', { dup: true });
add('dup-triple', '{"a":1,"b":2,"a":3,"c":4,"a":5}', { dup: true });
add('dup-index', '{"1":1,"0":2,"1":3,"x":4}', { dup: true });
add('dup-escaped-name', String.raw`{"a":1,"b":2,"\u0061":3}`, { dup: true });
add('dup-object-then-number', '{"a":{"x":1},"b":2,"a":7}', { dup: true });
add('dup-number-then-object', '{"a":7,"b":2,"a":{"y":1,"y":2}}', { dup: true });
add('dup-nested', '{"o":{"k":1,"j":2,"k":3},"arr":[{"a":1,"a":2}]}', { dup: true });
{
  const parts = [];
  for (let i = 0; i < 40; i++) parts.push(`"key${i % 25}":${i}`);
  add('dup-many-40', '{' + parts.join(',') + '}', { dup: true });
}
addDoc('dup-top-level-data', '{"data":{"a":1},"id":"v","data":{"b":2},"signature":"s"}', '{"b":2}');
addDoc('dup-top-level-data-falsy-last', '{"data":{"a":1},"id":"v","data":null,"signature":"s"}', 'null');

// --- strings ---
add('string-short-escapes', String.raw`{"s":"\b\f\n\r\t\"\\\/"}`);
{
  const ctl = [];
  const ctlUpper = [];
  for (let c = 0; c < 32; c++) {
    const h = c.toString(16).padStart(4, '0');
    ctl.push('\\u' + h);
    ctlUpper.push('\\u' + h.toUpperCase());
  }
  add('string-all-controls', `{"lower":"${ctl.join('')}","upper":"${ctlUpper.join('')}"}`);
  add('string-control-keys', '{' + ctl.map((e, i) => `"${e}":${i}`).join(',') + '}');
}
add('string-escaped-ordinary', String.raw`{"s":"\u0041\u00e9\u00E9\u4e2d\u007f\u003c\u003e\u0026\u002f\u0022\u005c"}`);
add('string-no-escape-needed', '{"s":"/<>&\u007f\u2028\u2029é中","k\u2028":1}');
add('string-escaped-line-separators', String.raw`{"s":"\u2028\u2029"}`);
add('string-emoji-raw', '{"s":"😀👍🏽","😀":"x"}');
add('string-surrogate-pair-escaped', String.raw`{"s":"\ud83d\ude00","t":"\uD83D\uDE00"}`);
add('string-lone-high', String.raw`{"s":"\ud800"}`, { surrogate: true });
add('string-lone-low', String.raw`{"s":"\udc00x\uDFFF"}`, { surrogate: true });
add('string-high-then-char', String.raw`{"s":"\ud800a\uDBFF"}`, { surrogate: true });
add('string-high-high-low', String.raw`{"s":"\ud800\ud800\udc00"}`, { surrogate: true });
add('string-low-high', String.raw`{"s":"\udc00\ud800"}`, { surrogate: true });
add('string-high-then-raw-emoji', String.raw`{"s":"\ud83d😀"}`, { surrogate: true });
add('string-lone-surrogate-key', String.raw`{"\ud800":1,"a\udfff":2}`, { surrogate: true });
add('string-top-level', String.raw`"a\u0000b\/c"`);
add('string-empty-key', '{"":1,"a":{"":2}}');
{
  // 20 KB strings: one plain (fast path), one with escapes sprinkled in.
  let plain = '';
  while (plain.length < 20480) plain += 'The quick brown fox é中😀 jumps over the lazy dog. ';
  add('string-20k-plain', `{"blob":"${plain}","n":1}`);
  let esc = '';
  while (esc.length < 20480) esc += String.raw`line\n\ttab \"q\" \u00e9\u0001 \/ \ud83d\ude00 `;
  add('string-20k-escaped', `{"blob":"${esc}"}`);
}

// --- numbers: JavaScript Number.prototype.toString of the nearest double ---
const numbers = ['-0', '0.0', '-0.0', '1e21', '1e+21', '1E21', '1e20', '123e-20', '1e-7', '1.5e-7',
  '0.000001', '0.0000012345', '1e-6', '5e-324', '2e-324', '3e-324', '1e-400', '1e400', '-1e400',
  '1E3', '1.50', '9007199254740993', '9007199254740992', '12345678901234567890', '0.1', '100',
  '-1.25e10', '4.35', '1.7976931348623157e308', '1.7976931348623158e308', '1.7976931348623159e308',
  '123456789012345', '1234567890123456', '-123456789012345', '100e-2', '1.0', '0.5', '-0.5',
  '2.5e-5', '1e-5', '123456789.123456789', '0.30000000000000004', '1e100', '-1e-100',
  '2.2250738585072014e-308', '2.225073858507201e-308', '4.9406564584124654e-324', '1e0',
  '10E-1', '0e0', '1.23456789012345678901234567890e5', '99999999999999999999', '999999999999999999999',
  '1e-0', '7e22', '123e18', '0.00000001', '1.5', '-123.456e-3', '18446744073709551615'];
add('numbers-all', '[' + numbers.join(',') + ']');
for (const n of numbers) add('number-' + n, `{"n":${n}}`);

{
  // Random doubles from random bit patterns, written with 17 significant
  // digits (or as long integers), so that the shortest-digits printing is
  // checked against V8 well beyond the hand-picked cases.
  const dv = new DataView(new ArrayBuffer(8));
  const srcs = [];
  for (let i = 0; i < 600; i++) {
    dv.setUint32(0, rnd()); dv.setUint32(4, rnd());
    const x = dv.getFloat64(0);
    if (!Number.isFinite(x)) continue;
    srcs.push(i % 3 === 0 ? x.toExponential(16) : x.toPrecision(17));
  }
  for (let i = 0; i < 100; i++) {
    // integers between 2^53 and ~2^73, and short decimals
    srcs.push(String(rnd()) + String(rnd()).padStart(10, '0'));
    srcs.push((rnd() % 100000) + '.' + String(rnd() % 1000).padStart(3, '0') + 'e' + ((rnd() % 60) - 30));
  }
  add('numbers-random', '[' + srcs.join(',') + ']');
}

// --- whitespace, pretty printing, deep nesting ---
{
  const obj = { id: 'v', signature: 's', data: { b: [1, 2, { c: 'x' }], a: null, '2': true, '1': 'y' } };
  const tab = JSON.stringify(obj, null, '\t').replace(/\n/g, '\r\n');
  const m = /"data": (\{[\s\S]*\})\r\n\}$/.exec(tab);
  addDoc('pretty-tabs-crlf', tab, m[1]);
  const sp = JSON.stringify(obj, null, 2);
  addDoc('pretty-spaces', sp, /"data": (\{[\s\S]*\})\n\}$/.exec(sp)[1]);
  addDoc('whitespace-everywhere', ' \t\r\n{ "id" : "v" ,\n"data"\t:\r\n [ 1 , { "a" : [ ] , "b" : { } } ] , "signature":"s" }\n ',
    '[ 1 , { "a" : [ ] , "b" : { } } ]');
}
add('deep-objects-500', '{"a":'.repeat(500) + '1' + '}'.repeat(500));
add('deep-arrays-1000', '['.repeat(1000) + '"x"' + ']'.repeat(1000));
add('deep-mixed-300', '[{"0":'.repeat(300) + '{"b":1,"0":2}' + '}]'.repeat(300));

// --- RFC 8785 section 3.2.3 sorting example ---
add('rfc8785-sorting', String.raw`{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}`);
add('rfc8785-numbers', String.raw`{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}`);
add('utf16-order', String.raw`{"\uffff":1,"😀":2,"\ue000":3,"a":4,"\ud7ff":5}`);

// --- documents Parse must reject (not a JSON object) ---
for (const [n, s] of [['top-array', '[{"data":1}]'], ['top-string', '"x"'], ['top-null', 'null'],
  ['trailing-comma', '{"id":"v","data":{"a":1,},"signature":"s"}'], ['leading-zero', '{"data":01}'],
  ['raw-control', '{"data":"a\u0001b"}'], ['raw-newline', '{"data":"a\nb"}'], ['bad-escape', String.raw`{"data":"\x"}`],
  ['short-unicode-escape', String.raw`{"data":"\u12"}`], ['single-quotes', "{'data':1}"], ['bom', '\ufeff{"data":1}'],
  ['trailing-garbage', '{"data":1} x'], ['two-docs', '{"data":1}{}'], ['empty', ''], ['nan', '{"data":NaN}'],
  ['plus-number', '{"data":+1}'], ['dot-number', '{"data":.5}'], ['number-dot', '{"data":1.}'], ['exp-no-digits', '{"data":1e}'],
  ['unclosed', '{"data":[1,2}'], ['missing-colon', '{"data" 1}'], ['key-not-string', '{data:1}'], ['vertical-tab-ws', '{\u000b"data":1}'],
  ['nbsp-ws', '{\u00a0"data":1}'], ['hex-number', '{"data":0x10}'], ['infinity', '{"data":Infinity}'], ['comment', '{"data":1 /* c */}']]) {
  addDoc('invalid-' + n, s, null);
}

function loneSurrogate(s) {
  return !s.isWellFormed();
}

// jcs is RFC 8785 for a value produced by JSON.parse: object keys sorted by
// UTF-16 code units (Array.prototype.sort's default order), strings and
// numbers serialised as JSON.stringify does. RFC 8785 has no form for
// non-finite numbers or lone surrogates; duplicate keys are flagged per case
// because JSON.parse hides them.
function jcs(v) {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error('number');
    return JSON.stringify(v);
  }
  if (typeof v === 'string') {
    if (loneSurrogate(v)) throw new Error('surrogate');
    return JSON.stringify(v);
  }
  if (v === null || typeof v === 'boolean') return JSON.stringify(v);
  if (Array.isArray(v)) return '[' + v.map(jcs).join(',') + ']';
  return '{' + Object.keys(v).sort().map((k) => {
    if (loneSurrogate(k)) throw new Error('surrogate');
    return JSON.stringify(k) + ':' + jcs(v[k]);
  }).join(',') + '}';
}

const sha256 = (s) => crypto.createHash('sha256').update(Buffer.from(s, 'utf8')).digest('hex');
const hmac = (s) => crypto.createHmac('sha256', HMAC_KEY).update(Buffer.from(s, 'utf8')).digest('hex');

// --- whole records, verified the way the app verifies one ---
//
// Each record vector: name, key (the text it is stored under), stored (the
// record document, with a checksum and an HMAC computed here) and verdict:
// the first check that fails when Node verifies it, or "" when it passes:
//   fields     !rec.id, or the signature is not a non-empty string
//   key        String(rec.id) !== key
//   checksum   a checksum is present and !== sha256(JSON.stringify(rec.data || {}))
//   signature  the HMAC of the same text is not rec.signature
// id_text is String(rec.id) when the id is a string or a number.
const recordCases = [];
// addRecord(name, idSrc, dataSrc, opts): opts.key (default String(id)),
// opts.checksum(hex) -> the checksum member's source text.
function addRecord(name, idSrc, dataSrc, opts = {}) {
  recordCases.push({ name, idSrc, dataSrc, ...opts });
}
for (const n of ['1', '42', '-7', '1.50', '1e3', '1e21', '1.5e-7', '0.1', '9007199254740993',
  '123456789012345678', '4294967295', '1e400', '-1e400', '5e-324', '0.000001']) {
  addRecord('id-number-' + n, n, '{"a":1}');
}
for (const [n, v] of [['zero', '0'], ['minus-zero', '-0'], ['zero-point-zero', '0.0'], ['zero-exp', '0e10'],
  ['underflow', '1e-400'], ['empty-string', '""'], ['null', 'null'], ['false', 'false']]) {
  addRecord('id-falsy-' + n, v, '{"a":1}', { key: '0' });
}
addRecord('id-missing', null, '{"a":1}', { key: 'x' });
addRecord('id-number-written-differently', '1.50', '{"a":1}', { key: '1.50' });
addRecord('id-number-exp-key', '1e21', '{"a":1}', { key: '1000000000000000000000' });
addRecord('id-string-uuid', '"0b6f2c52-6c5e-4f7e-9d0a-3f1f8a8e2b11"', '{"a":1}');
addRecord('id-string-escaped', String.raw`"1\/2"`, '{"a":1}');
addRecord('id-string-number-text', '"1.50"', '{"a":1}', { key: '1.50' });
// data that rounds to zero without an exponent is falsy: the payload is {}
addRecord('data-tiny-decimal', '"r"', '0.' + '0'.repeat(323) + '1');
addRecord('data-minus-tiny-decimal', '"r"', '-0.' + '0'.repeat(323) + '1');
addRecord('data-denormal-decimal', '"r"', '0.' + '0'.repeat(322) + '1');
// a checksum written with JSON escapes is compared decoded
const escHex = (sum, i) => JSON.stringify(sum).replace(sum[i], '\\u00' + sum.charCodeAt(i).toString(16));
addRecord('checksum-escaped-first', '"r"', '{"a":1}', { checksum: (sum) => escHex(sum, 0) });
addRecord('checksum-escaped-all', '"r"', '{"a":[1,2]}', {
  checksum: (sum) => '"' + [...sum].map((c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')).join('') + '"',
});
addRecord('checksum-escaped-solidus-not-hex', '"r"', '{"a":1}', { checksum: (sum) => '"' + sum.slice(0, 63) + '\\/"' });
addRecord('checksum-escaped-uppercase', '"r"', '{"a":1}', {
  checksum: (sum) => { const i = sum.search(/[a-f]/); return '"' + sum.slice(0, i) + '\\u00' + sum.toUpperCase().charCodeAt(i).toString(16) + sum.slice(i + 1) + '"'; },
});

const names = new Set();
const out = [];
for (const c of cases) {
  if (names.has(c.name)) throw new Error('duplicate vector name ' + c.name);
  names.add(c.name);
  if (!c.stored.isWellFormed()) throw new Error(c.name + ': stored text must be well-formed Unicode');
  let doc;
  try {
    doc = JSON.parse(c.stored);
  } catch (e) {
    doc = undefined;
  }
  if (doc === undefined || doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    if (c.data !== null || !c.name.startsWith('invalid-')) throw new Error(c.name + ': unexpected parse failure');
    out.push({ name: c.name, stored: c.stored, parse_error: true });
    continue;
  }
  if (c.name.startsWith('invalid-')) throw new Error(c.name + ': JSON.parse accepted it');
  const value = doc.data || {};
  const js = JSON.stringify(value); // the exact expression Node verifies with
  if (!js.isWellFormed()) throw new Error(c.name + ': JSON.stringify output is not well-formed');
  const v = { name: c.name, stored: c.stored, js, js_sha256: sha256(js), js_hmac_sha256: hmac(js) };
  if (doc.data) {
    if (!c.stored.includes(c.data)) throw new Error(c.name + ': data source not in stored text');
    if (JSON.stringify(JSON.parse(c.data)) !== js) throw new Error(c.name + ': data source disagrees with stored');
    v.raw = c.data;
  } else {
    v.raw = '{}';
  }
  try {
    if (c.dup && doc.data) throw new Error('duplicate');
    v.jcs = jcs(value);
  } catch (e) {
    v.jcs_error = e.message;
  }
  if ((c.surrogate && doc.data) && v.jcs_error !== 'surrogate' && v.jcs_error !== 'duplicate') {
    throw new Error(c.name + ': expected a lone surrogate');
  }
  out.push(v);
}

const recordOut = [];
for (const c of recordCases) {
  const data = JSON.parse(c.dataSrc);
  const js = JSON.stringify(data || {});
  const sum = sha256(js);
  const members = [];
  if (c.idSrc !== null) members.push('"id":' + c.idSrc);
  members.push('"data":' + c.dataSrc);
  members.push('"checksum":' + (c.checksum ? c.checksum(sum) : JSON.stringify(sum)));
  members.push('"signature":' + JSON.stringify(hmac(js)));
  const stored = '{' + members.join(',') + '}';
  const rec = JSON.parse(stored);
  const key = c.key !== undefined ? c.key : String(rec.id);
  let verdict = '';
  if (!rec.id || typeof rec.signature !== 'string' || !rec.signature) verdict = 'fields';
  else if (String(rec.id) !== key) verdict = 'key';
  else if (rec.checksum !== undefined && rec.checksum !== null && rec.checksum !== sha256(JSON.stringify(rec.data || {}))) verdict = 'checksum';
  else if (hmac(JSON.stringify(rec.data || {})) !== rec.signature) verdict = 'signature';
  const v = { name: c.name, key, stored, verdict };
  if (typeof rec.id === 'string' || typeof rec.id === 'number') v.id_text = String(rec.id);
  if (names.has(c.name)) throw new Error('duplicate vector name ' + c.name);
  names.add(c.name);
  recordOut.push(v);
}

process.stdout.write(JSON.stringify({
  generator: 'testdata/node/gen-vectors.js',
  hmac_key: HMAC_KEY,
  vectors: out,
  records: recordOut,
}, null, 1) + '\n');
