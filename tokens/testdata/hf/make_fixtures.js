// make_fixtures.js writes the tokenizer fixtures of tokens/hf_test.go and
// their reference ids, computed by the Hugging Face tokenizers library (the
// Rust implementation, through its Node binding, npm package "tokenizers").
//
//   cd /tmp && npm install --ignore-scripts tokenizers@0.23.2
//   NODE_PATH=/tmp/node_modules node tokens/testdata/hf/make_fixtures.js tokens/testdata/hf
//
// Each tokenizer's vocabulary and merges come from a small deterministic BPE
// learner below (the learner only needs to give plausible merges; every id in
// expected.json is the library's own encoding of the saved file, reloaded
// with Tokenizer.fromFile). The entrolab character tokenizer is encoded from
// entrolab_char/tokenizer.json, which tokens.New().Marshal() writes (the test
// checks the committed copy is current).
const fs = require('fs');
const path = require('path');
const tk = require('tokenizers');

const out = process.argv[2] || '.';

const corpus = [
  "The quick brown fox jumps over the lazy dog. The dog doesn't care; it's lazy.",
  "We'll see what they've done: 12+345=357, 1000-1=999, and 3.14159 is pi.",
  "  Indented text\n\tand tabs\n\n\nnew lines   spaced   out.",
  "def add(a, b):\n    return a + b  # sum\n",
  "Café naïve résumé — déjà vu. 中文 字符 and emoji 🙂🙂.",
  "Hello hello HELLO world worlds wording worded worker working",
  "answer: 42 <|endoftext|> next document begins here",
];

const texts = [
  "",
  "hello world",
  "Hello world!",
  " leading space",
  "trailing space ",
  "multiple   spaces  here",
  "line one\nline two\n\n  indented",
  "tabs\tand\r\nwindows",
  "it's we'll they've I'm you'd we're",
  "12+345=357",
  "3.14159 and 1000000",
  "Café naïve résumé",
  "中文字符",
  "emoji 🙂 and ☃",
  "unseen: zebra quokka xylophone",
  "a<|endoftext|>b",
  "<|endoftext|>",
  "answer: 42<|endoftext|>",
  "<s>tagged</s>",
  "   ",
  "def f(x):\n    return x*2\n",
];

const byteAlphabet = tk.byteLevelAlphabet().sort();

function bytesToUnicode() {
  const bs = [];
  for (let i = 33; i <= 126; i++) bs.push(i);
  for (let i = 161; i <= 172; i++) bs.push(i);
  for (let i = 174; i <= 255; i++) bs.push(i);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) { bs.push(b); cs.push(256 + n); n++; }
  const m = {};
  bs.forEach((b, i) => { m[b] = String.fromCodePoint(cs[i]); });
  return m;
}
const b2u = bytesToUnicode();
const byteLevel = (s) => Array.from(Buffer.from(s, 'utf8')).map((b) => b2u[b]).join('');

// learn: words (arrays of symbols) -> merges, greedy on pair counts, ties by
// first occurrence (deterministic).
function learn(words, nMerges, alphabet, prefix = '', suffix = '') {
  const vocab = {};
  alphabet.forEach((a) => { if (!(a in vocab)) vocab[a] = Object.keys(vocab).length; });
  let ws = words.map((w) => Array.from(w).map((c, i, arr) => {
    let s = c;
    if (i > 0 && prefix) s = prefix + s;
    if (i === arr.length - 1 && suffix) s = s + suffix;
    return s;
  }));
  ws.forEach((w) => w.forEach((s) => { if (!(s in vocab)) vocab[s] = Object.keys(vocab).length; }));
  const merges = [];
  for (let k = 0; k < nMerges; k++) {
    const counts = new Map();
    for (const w of ws) for (let i = 0; i + 1 < w.length; i++) {
      const key = w[i] + '\u0000' + w[i + 1];
      counts.set(key, (counts.get(key) || 0) + 1);
    }
    let best = null, bc = 1;
    for (const [key, c] of counts) if (c > bc) { best = key; bc = c; }
    if (best === null) break;
    const [a, b] = best.split('\u0000');
    const merged = a + (prefix && b.startsWith(prefix) ? b.slice(prefix.length) : b);
    merges.push([a, b]);
    if (!(merged in vocab)) vocab[merged] = Object.keys(vocab).length;
    ws = ws.map((w) => {
      const r = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === a && w[i + 1] === b) { r.push(merged); i++; } else r.push(w[i]);
      }
      return r;
    });
  }
  return { vocab, merges };
}

// gpt2Words approximates the GPT-2 split for the learner only.
const gpt2Re = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
const gpt2Words = (s) => (s.match(gpt2Re) || []).map(byteLevel);

const fixtures = [];
// The Node binding has no ByteLevel decoder constructor: byteLevel files get
// the decoder the Python library writes for GPT-2, patched into the saved
// JSON (the file is then reloaded by the library for every encoding below).
const byteLevelDecoder = { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true };
function save(name, tok, decoder, pretok) {
  const dir = path.join(out, name);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'tokenizer.json');
  tok.save(file, true);
  if (decoder || pretok) {
    const j = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (decoder) j.decoder = decoder;
    if (pretok) j.pre_tokenizer = pretok;
    fs.writeFileSync(file, JSON.stringify(j, null, 2) + '\n');
  }
  fixtures.push(name);
}

// 1. GPT-2 style byte-level BPE: ByteLevel pre-tokenizer (no prefix space),
// ByteLevel decoder and post-processor, <|endoftext|> special.
{
  const words = corpus.flatMap(gpt2Words);
  const { vocab, merges } = learn(words, 300, byteAlphabet);
  const t = new tk.Tokenizer(tk.BPE.init(vocab, merges, {}));
  t.setPreTokenizer(tk.byteLevelPreTokenizer(false, true));
  t.setPostProcessor(tk.byteLevelProcessing(true));
  t.addSpecialTokens(['<|endoftext|>']);
  save('gpt2_bytelevel', t, byteLevelDecoder);
}
// 2. Byte-level BPE with a prefix space, a template adding <s> ... </s>, a
// <pad>, and one plain (non-special) added token.
{
  const words = corpus.flatMap((s) => gpt2Words(' ' + s));
  const { vocab, merges } = learn(words, 200, byteAlphabet);
  const t = new tk.Tokenizer(tk.BPE.init(vocab, merges, {}));
  t.setPreTokenizer(tk.byteLevelPreTokenizer(true, true));
  t.addSpecialTokens(['<s>', '</s>', '<pad>']);
  t.addTokens(['zebra']);
  const ids = t.getVocab(true);
  t.setPostProcessor(tk.templateProcessing('<s> $A </s>', '<s> $A </s> $B:1 </s>:1', [['<s>', ids['<s>']], ['</s>', ids['</s>']]]));
  save('bytelevel_template', t, byteLevelDecoder);
}
// 3. Byte-level BPE behind an explicit Split on the GPT-2 pattern (how newer
// files spell it), digits split individually, lowercase + NFC normalizer.
{
  const words = corpus.flatMap((s) => gpt2Words(s.toLowerCase()));
  const { vocab, merges } = learn(words, 250, byteAlphabet);
  const t = new tk.Tokenizer(tk.BPE.init(vocab, merges, {}));
  t.setNormalizer(tk.sequenceNormalizer([tk.nfcNormalizer(), tk.lowercase()]));
  t.addSpecialTokens(['<|endoftext|>']);
  // A Regex Split cannot be built through the Node binding (a string
  // pattern is literal there): the pre-tokenizer is patched into the file.
  save('split_digits_bytelevel', t, byteLevelDecoder, { type: 'Sequence', pretokenizers: [
    { type: 'Digits', individual_digits: true },
    { type: 'Split', pattern: { Regex: "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+" }, behavior: 'Isolated', invert: false },
    { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
  ] });
}
// 4. Classic (non byte-level) BPE: whitespace pre-tokenizer, end-of-word
// suffix, [UNK] for unseen characters, BPE decoder.
{
  const wsRe = /[\p{L}\p{M}\p{Nd}\p{Pc}]+|[^\p{L}\p{M}\p{Nd}\p{Pc}\s]+/gu;
  const words = corpus.flatMap((s) => s.match(wsRe) || []);
  const { vocab, merges } = learn(words, 200, ['[UNK]'], '', '</w>');
  const t = new tk.Tokenizer(tk.BPE.init(vocab, merges, { unkToken: '[UNK]', endOfWordSuffix: '</w>', fuseUnk: true }));
  t.setPreTokenizer(tk.whitespacePreTokenizer());
  t.setDecoder(tk.bpeDecoder('</w>'));
  t.addSpecialTokens(['[UNK]', '<eos>', '<pad>']);
  save('bpe_whitespace', t);
}
// 5. WordLevel over whitespace-split words.
{
  const words = [...new Set(corpus.flatMap((s) => s.split(/\s+/).filter(Boolean)))].sort();
  const vocab = { '<unk>': 0, '<pad>': 1, '<eos>': 2 };
  for (const w of words) vocab[w] = Object.keys(vocab).length;
  const t = new tk.Tokenizer(tk.WordLevel.init(vocab, { unkToken: '<unk>' }));
  t.setPreTokenizer(tk.whitespaceSplitPreTokenizer());
  t.addSpecialTokens(['<unk>', '<pad>', '<eos>']);
  save('wordlevel_whitespace', t);
}

(async () => {
  const cases = [];
  for (const name of [...fixtures, 'entrolab_char']) {
    const file = path.join(out, name, 'tokenizer.json');
    if (!fs.existsSync(file)) continue;
    const t = tk.Tokenizer.fromFile(file);
    const list = name === 'entrolab_char' ? ['', '12+345=', ' 1  2 ', '3,7,25>31:'] : texts;
    for (const text of list) {
      const plain = await t.encode(text, null, { addSpecialTokens: false });
      const special = await t.encode(text, null, { addSpecialTokens: true });
      const ids = plain.getIds();
      cases.push({ tokenizer: name, text, ids, ids_with_special: special.getIds(),
        decoded: await t.decode(ids, false) });
    }
  }
  fs.writeFileSync(path.join(out, 'expected.json'), JSON.stringify({
    made_by: 'tokens/testdata/hf/make_fixtures.js with the tokenizers npm package ' +
      require('tokenizers/package.json').version + ' (Hugging Face tokenizers, Rust core)',
    cases }, null, 1) + '\n');
  console.log(cases.length, 'cases');
})();
