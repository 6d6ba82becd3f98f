// common.js: what the generators (make-leveldb.js, make-postgres.js,
// make-cross.js, state-writer.js) share: the repository root, the HMAC key files, the
// digests the app computes, and a small deterministic PRNG. Node built-ins
// only.
'use strict'

const crypto = require('crypto')
const fs = require('fs')
const path = require('path')

const repoRoot = path.resolve(__dirname, '..', '..')
// Key files, current first, relative to the repository root.
const keyFiles = ['testdata/keys/current.key', 'testdata/keys/previous.key']

// readKeys returns the keys of keyFiles, whitespace trimmed, current first.
const readKeys = () => keyFiles.map((f) => fs.readFileSync(path.join(repoRoot, f), 'utf8').trim())

const sha256hex = (s) => crypto.createHash('sha256').update(s).digest('hex')
const hmachex = (key, s) => crypto.createHmac('sha256', key).update(s).digest('hex')

// mulberry32: a small deterministic PRNG so a regenerated store holds the same records.
function prng (seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

module.exports = { repoRoot, keyFiles, readKeys, sha256hex, hmachex, prng }
