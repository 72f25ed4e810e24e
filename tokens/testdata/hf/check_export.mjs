// check_export.mjs DIR TEXTS_JSON: encodes each text (add_special_tokens)
// with the tokenizer files of a Hugging Face model directory through both
// Hugging Face tokenizer libraries on npm:
//   rust: "tokenizers" (the Rust library's Node binding), tokenizer.json
//   js:   "@huggingface/tokenizers" (what transformers.js runs), tokenizer.json + tokenizer_config.json
// and prints {"rust": [[ids]], "js": [[ids]], "js_eos": id-or-null}.
// NODE_PATH is not read by ES modules: HF_NODE_MODULES (not ENTROLAB_*:
// those are settings) names the
// node_modules directory.
import fs from 'fs';
import path from 'path';
import { createRequire } from 'module';

const [dir, textsJSON] = process.argv.slice(2);
const mods = process.env.HF_NODE_MODULES;
const require = createRequire(path.join(mods, 'x.js'));
const rust = require('tokenizers');
const jsmod = await import(path.join(mods, '@huggingface', 'tokenizers', 'dist', 'tokenizers.mjs'));

const texts = JSON.parse(textsJSON);
const tj = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'));
const tc = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8'));
const rt = rust.Tokenizer.fromFile(path.join(dir, 'tokenizer.json'));
const jt = new jsmod.Tokenizer(tj, tc);
const out = { rust: [], js: [] };
for (const t of texts) {
  out.rust.push((await rt.encode(t, null, { addSpecialTokens: true })).getIds());
  out.js.push(jt.encode(t, { add_special_tokens: true }).ids);
}
console.log(JSON.stringify(out));
