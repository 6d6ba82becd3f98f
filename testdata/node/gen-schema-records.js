#!/usr/bin/env node
// gen-schema-records.js writes testdata/schema/records.json: signed sigil
// records, written by Node the way the app writes them (JSON.stringify,
// sha256 checksum and HMAC-SHA256 of JSON.stringify(data || {})), each with
// one member `v` whose value is valid or invalid for one JSON Schema
// `format`, labelled as Ajv with ajv-formats judges it. The Go tests in
// collector (schema_test.go) validate them against schemas of drafts
// 2020-12 and draft-07 that assert `format`, and annotate-only.
//
// Regenerate (from the repository root) with:
//
//   node testdata/node/gen-schema-records.js > testdata/schema/records.json
//
// With `--leveldb DIR` it writes the same records (and the starter-schema
// records below) into a new LevelDB at DIR instead, under the sublevel
// prefix !sigils! (classic-level, utf8), for the exporter's `check` tests.
'use strict';

const crypto = require('crypto');

const HMAC_KEY = 'sigil-schema-key';
const sha256 = (s) => crypto.createHash('sha256').update(Buffer.from(s, 'utf8')).digest('hex');
const hmac = (s) => crypto.createHmac('sha256', HMAC_KEY).update(Buffer.from(s, 'utf8')).digest('hex');

// [format, valid values, invalid values]
const formats = [
  ['date-time', ['2024-05-01T12:00:00.000Z', '2024-05-01T12:00:00+02:00'], ['yesterday', '2024-05-01', '2024-13-01T12:00:00Z']],
  ['date', ['2024-05-01', '2024-02-29'], ['2024-5-1', '2023-02-29', 'today']],
  ['time', ['12:00:00Z', '23:59:59.5+01:00'], ['25:00:00Z', 'noon']],
  ['email', ['ops@example.com', 'first.last+tag@sub.example.org'], ['not-an-email', 'a@@example.com']],
  ['uuid', ['0b6f2c52-6c5e-4f7e-9d0a-3f1f8a8e2b11', '00000000-0000-0000-0000-000000000000'], ['0b6f2c52-6c5e-4f7e-9d0a', 'not-a-uuid-at-all-zzzzzzzzzzzzzzzzzzz']],
  ['uri', ['https://example.com/a?b=c#d', 'urn:isbn:0451450523'], ['not a uri', '/relative/path']],
  ['ipv4', ['192.168.0.1', '8.8.8.8'], ['256.1.1.1', '1.2.3']],
  ['ipv6', ['::1', '2001:db8::8a2e:370:7334'], ['12345::', '1:::2']],
  ['hostname', ['example.com', 'a-b.example'], ['-bad-.com', 'under_score.example']],
  ['regex', ['^[a-z]+$', '\\d{3}'], ['(unclosed', '[z-a]']],
  ['duration', ['P3D', 'PT1H30M'], ['3 days', 'P']],
  ['json-pointer', ['/a/b', ''], ['a/b', '/a~2']],
];

function record(id, extra) {
  const data = { glyph: 'ᚠ', n: 1 };
  const js = JSON.stringify(data || {});
  return JSON.stringify(Object.assign({ id, data, checksum: sha256(js), signature: hmac(js), createdAt: '2024-05-01T12:00:00.000Z' }, extra));
}

const records = [];
for (const [format, valid, invalid] of formats) {
  const add = (v, ok, i) => {
    const key = `${format}-${ok ? 'valid' : 'invalid'}-${i}`;
    records.push({ key, format, valid: ok, stored: record(key, { v }) });
  };
  valid.forEach((v, i) => add(v, true, i));
  invalid.forEach((v, i) => add(v, false, i));
}
// format applies to strings only: other types pass any format.
records.push({ key: 'date-time-number', format: 'date-time', valid: true, stored: record('date-time-number', { v: 1714564800000 }) });

// For the starter schema (deploy/schema/sigil-record.schema.json): the
// record of issue 15, whose createdAt is not a date-time, and good ones.
const starter = [
  { key: 'createdat-yesterday', valid: false, stored: record('createdat-yesterday', { createdAt: 'yesterday' }) },
  { key: 'createdat-iso', valid: true, stored: record('createdat-iso', {}) },
  { key: 'createdat-offset', valid: true, stored: record('createdat-offset', { createdAt: '2024-05-01T14:00:00+02:00' }) },
  { key: 'createdat-absent', valid: true, stored: record('createdat-absent', { createdAt: undefined }) },
  { key: '42', valid: true, stored: record(42, {}) }, // a numeric id, as a PostgreSQL table may have
];

async function writeLevelDB(dir) {
  const { ClassicLevel } = require('classic-level');
  const db = new ClassicLevel(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  const sigils = db.sublevel('sigils', { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  await sigils.batch([...records, ...starter].map((r) => ({ type: 'put', key: r.key, value: r.stored })));
  await db.close();
}

const i = process.argv.indexOf('--leveldb');
if (i >= 0) {
  writeLevelDB(process.argv[i + 1]).catch((e) => { console.error(e); process.exit(1); });
} else {
  process.stdout.write(JSON.stringify({
    generator: 'testdata/node/gen-schema-records.js',
    hmac_key: HMAC_KEY,
    records,
    starter,
  }, null, 1) + '\n');
}
